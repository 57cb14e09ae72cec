// --- Attachments: drop files onto the open card to attach them. ---------------------------------
// The dropped files go into the card's upload form, which htmx then sends as it sends chosen
// files: multipart FormData with the CSRF header; the attachments and the card's face swap in.
(function () {
  "use strict";

  var CARD = "#card-dialog, #card-detail";

  function uploadFormFor(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    if (!types || Array.prototype.indexOf.call(types, "Files") === -1) return null;
    if (!event.target.closest || !event.target.closest(CARD)) return null;
    return document.querySelector("#card-detail .attachment-upload");
  }

  function highlight(on) {
    var detail = document.getElementById("card-detail");
    if (detail) detail.classList.toggle("dropping", on);
  }

  document.addEventListener("dragover", function (event) {
    if (!uploadFormFor(event)) return;
    event.preventDefault();  // this is what allows the drop
    event.dataTransfer.dropEffect = "copy";
    highlight(true);
  });
  document.addEventListener("dragleave", function (event) {
    var to = event.relatedTarget;
    if (!to || !to.closest || !to.closest(CARD)) highlight(false);
  });
  document.addEventListener("drop", function (event) {
    var form = uploadFormFor(event);
    if (!form) return;
    event.preventDefault();  // the browser would open the file instead
    highlight(false);
    form.querySelector('input[type="file"]').files = event.dataTransfer.files;
    form.requestSubmit();
  });

  // Files that together pass what one request may carry (MAX_CONTENT_LENGTH) are refused here:
  // sent anyway, the server would answer 413 before reading them, and a browser still sending
  // them may see a reset connection instead of that answer.
  function megabytes(bytes) { return (bytes / 1048576).toFixed(1).replace(/\.0$/, "") + " MB"; }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form.classList || !form.classList.contains("attachment-upload")) return;
    var files = form.querySelector('input[type="file"]').files, total = 0;
    for (var i = 0; i < files.length; i++) total += files[i].size;
    var limit = Number(form.dataset.maxRequest);
    if (!limit || total <= limit) return;
    event.preventDefault();
    var message = document.createElement("p");
    message.className = "field-error";
    message.setAttribute("role", "alert");
    message.textContent = "These files add up to " + megabytes(total) + "; one upload can carry at most " +
      megabytes(limit) + ". Upload them a few at a time.";
    form.querySelector(".upload-status").replaceChildren(message);
  });

  // An upload over the server's whole-request limit is refused before any view runs, and its
  // message is sent to the page's error area, behind the open dialog: show it under the form.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail, form = detail.requestConfig && detail.requestConfig.elt;
    if (!detail.xhr || detail.xhr.status !== 413 || !detail.target || detail.target.id !== "errors") return;
    if (!form || !form.classList || !form.classList.contains("attachment-upload")) return;
    var slot = form.querySelector(".upload-status");
    if (slot) event.detail.target = slot;
  });
})();
