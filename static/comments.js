// Comments: the @mention suggestions of a comment box, and the open card dialog kept up to date.
(function () {
  "use strict";

  // --- @mention suggestions ---------------------------------------------------------------------
  // A comment box (textarea[data-mentions], role="combobox") asks its hx-get for the members
  // matching the @ being typed (partials/mention_suggestions.html) and shows them in its listbox
  // (aria-controls). ↑/↓ move the highlight, Enter, Tab or a click write the mention, Escape closes.
  // The mention is written as the server reads it (webapp/comments.py MENTION): @ and a handle.

  var WORD = "\\p{L}\\p{N}_";
  // The @ being typed just before the caret: at the start or after anything but a word character
  // or an @ (so not in an email address), and what follows it so far.
  var TYPING = new RegExp("(?:^|[^" + WORD + "@])@((?:[" + WORD + "][" + WORD + ".+-]*)?)$", "u");

  function isBox(element) { return element && element.matches && element.matches("textarea[data-mentions]"); }
  function listOf(box) { return document.getElementById(box.getAttribute("aria-controls")); }
  function options(list) { return Array.prototype.slice.call(list.querySelectorAll('[role="option"]')); }
  function isOpen(box) { return box.getAttribute("aria-expanded") === "true"; }

  function typed(box) {
    if (box.selectionStart !== box.selectionEnd) return null;
    var match = TYPING.exec(box.value.slice(0, box.selectionStart));
    return match ? { query: match[1], start: box.selectionStart - match[1].length - 1 } : null;
  }

  function close(box) {
    var list = listOf(box);
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    if (list) { list.hidden = true; list.replaceChildren(); }
  }

  function highlight(box, option) {
    var list = listOf(box);
    options(list).forEach(function (each) { each.setAttribute("aria-selected", each === option ? "true" : "false"); });
    box.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  function open(box) {
    var list = listOf(box), found = options(list);
    if (!found.length || !typed(box)) { close(box); return; }
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    highlight(box, found[0]);
  }

  function pick(box, option) {
    var at = typed(box);
    close(box);
    if (!at) return;
    var after = box.value.charAt(box.selectionStart);
    var text = "@" + option.dataset.handle + (after && /\s/.test(after) ? "" : " ");
    box.setRangeText(text, at.start, box.selectionStart, "end");
    box.focus();
  }

  // The request says what is being looked for, not the whole comment; with no @ before the caret, no request.
  document.addEventListener("htmx:configRequest", function (event) {
    var box = event.detail.elt;
    if (!isBox(box)) return;
    var at = typed(box);
    if (!at) { event.preventDefault(); close(box); return; }
    var parameters = event.detail.parameters;
    parameters.delete("body");
    parameters.set("q", at.query);
    parameters.set("list", box.getAttribute("aria-controls"));
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list || !list.classList || !list.classList.contains("mention-list")) return;
    var box = document.querySelector('textarea[aria-controls="' + list.id + '"]');
    if (box) open(box);
  });

  // Captured before the dialog (Escape closes it) and the board's shortcuts see the key.
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!isBox(box) || !isOpen(box) || event.altKey || event.ctrlKey || event.metaKey) return;
    var list = listOf(box), found = options(list);
    var current = found.indexOf(document.getElementById(box.getAttribute("aria-activedescendant")));
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var step = event.key === "ArrowDown" ? 1 : -1;
      highlight(box, found[(current + step + found.length) % found.length]);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && current !== -1) {
      pick(box, found[current]);
    } else if (event.key === "Escape") {
      close(box);
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  }, true);

  // A click on a suggestion keeps the focus in the box (mousedown) and writes the mention.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest(".mention-list")) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest('.mention-list [role="option"]');
    if (!option) return;
    var box = document.querySelector('textarea[aria-controls="' + option.parentElement.id + '"]');
    if (box) pick(box, option);
  });

  // Moving the caret away from the @ (a click, ←/→) or leaving the box closes the list.
  document.addEventListener("focusout", function (event) { if (isBox(event.target)) close(event.target); });
  document.addEventListener("selectionchange", function () {
    var box = document.activeElement;
    if (isBox(box) && isOpen(box) && !typed(box)) close(box);
  });

  // --- The open card stays live -----------------------------------------------------------------
  // Live updates are the board's fragments, the same for every viewer: a change to a card sends
  // its face (#card-<id>). When the card open in the dialog is among them, its detail is fetched
  // again and swapped in, keeping what this user is in the middle of: a form with unsent text or
  // the focus stays as it is (hx-preserve), open sections stay open, the scroll stays put.
  // The user's own changes are skipped: their response has already updated the dialog.

  var OWN_CHANGE_MS = 1500;
  var ownChange = { pending: 0, at: 0 };
  var refreshing = false, again = false, kept = 0;

  function openDetail() {
    var dialog = document.getElementById("card-dialog");
    return dialog && dialog.open ? dialog.querySelector("#card-detail") : null;
  }

  function concernsOpenCard(event) {
    var detail = openDetail(), verb = (event.detail.requestConfig || {}).verb;
    var path = ((event.detail.pathInfo || {}).requestPath || "").split("?")[0];
    var url = detail && detail.dataset.cardUrl;
    return url && verb && verb !== "get" && (path === url || path.indexOf(url + "/") === 0);
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (concernsOpenCard(event)) { ownChange.pending++; ownChange.at = Date.now(); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (concernsOpenCard(event)) { ownChange.pending = Math.max(0, ownChange.pending - 1); ownChange.at = Date.now(); }
  });

  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    if (event.detail.type !== "board") return;
    var detail = openDetail();
    if (!detail || event.detail.data.indexOf('id="card-' + detail.dataset.cardId + '"') === -1) return;
    if (ownChange.pending || Date.now() - ownChange.at < OWN_CHANGE_MS) return;
    if (new RegExp('id="card-' + detail.dataset.cardId + '"[^>]*data-card-gone="deleted"').test(event.detail.data)) {
      gone(detail);  // nothing left to fetch (and a 404 would show in the console)
      return;
    }
    setTimeout(refresh, 0);  // after the board's own swaps
  });

  function isDirty(form) {
    return Array.prototype.some.call(form.elements, function (field) {
      if (field.type === "hidden") return false;
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (option) { return option.selected !== option.defaultSelected; });
      }
      return "defaultValue" in field && field.value !== field.defaultValue;
    });
  }

  // A form in the fresh detail stands for the live one with the same id, or the same action.
  function counterpart(root, form) {
    var byId = form.id && root.querySelector("#" + CSS.escape(form.id));
    var action = form.getAttribute("action");
    return byId || (action ? root.querySelector('form[action="' + CSS.escape(action) + '"]') : null);
  }

  function detailsKey(details, index) { return details.id || details.className + ":" + index; }

  function merge(current, html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("card-detail");
    if (!fresh) return null;
    current.querySelectorAll("form").forEach(function (form) {
      if (!isDirty(form) && !form.contains(document.activeElement) && !form.classList.contains("comment-edit")) return;
      var stand = counterpart(fresh, form);
      if (!stand) return;
      if (!form.id) form.id = "card-form-kept-" + (++kept);
      stand.id = form.id;
      stand.setAttribute("hx-preserve", "");
    });
    var open = {};
    current.querySelectorAll("details").forEach(function (details, index) { open[detailsKey(details, index)] = details.open; });
    fresh.querySelectorAll("details").forEach(function (details, index) {
      var key = detailsKey(details, index);
      if (key in open) details.open = open[key];
    });
    return fresh.outerHTML;
  }

  function gone(current) {
    var body = current.querySelector(".dialog-body") || current;
    if (body.querySelector(".card-gone")) return;
    var note = document.createElement("p");
    note.className = "card-gone";
    note.setAttribute("role", "status");
    note.textContent = "This card has just been deleted.";
    body.prepend(note);
  }

  function refresh() {
    var current = openDetail();
    if (!current) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(current.dataset.cardUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404) { gone(current); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html || openDetail() !== current) return;
        var merged = merge(current, html);
        if (!merged) return;
        var scroller = current.querySelector(".dialog-body"), top = scroller ? scroller.scrollTop : 0;
        var focused = document.activeElement, start = focused && focused.selectionStart, end = focused && focused.selectionEnd;
        htmx.swap(current, merged, { swapStyle: "outerHTML" });
        var now = openDetail(), body = now && now.querySelector(".dialog-body");
        if (body) body.scrollTop = top;
        if (focused && focused !== document.activeElement && now && now.contains(focused)) {
          focused.focus({ preventScroll: true });
          if (typeof start === "number" && focused.setSelectionRange) focused.setSelectionRange(start, end);
        }
      })
      .catch(function () { /* offline: the next change or a reopen brings it */ })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }
})();
