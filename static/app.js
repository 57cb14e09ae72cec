// Corkboard glue: the card dialog, drag and drop, and visible errors. Behaviour lives in hx-* attributes.
(function () {
  "use strict";

  function dialog() { return document.getElementById("card-dialog"); }

  // Card detail and move forms are swapped into the dialog, which then opens.
  document.addEventListener("htmx:afterSwap", function (event) {
    var box = dialog();
    if (box && event.detail.target.id === "dialog-body" && !box.open) box.showModal();
  });
  document.addEventListener("closeDialog", function () {
    var box = dialog();
    if (box && box.open) box.close();
  });
  document.addEventListener("close", function (event) {
    if (event.target.id === "card-dialog") document.getElementById("dialog-body").innerHTML = "";
  }, true);

  // A failed request always says so: errors arrive as fragments swapped into #errors;
  // a network failure has no response, so say it here.
  document.addEventListener("htmx:beforeRequest", function () {
    var errors = document.getElementById("errors");
    if (errors) errors.innerHTML = "";
  });
  document.addEventListener("htmx:sendError", function () {
    var errors = document.getElementById("errors");
    if (errors) errors.innerHTML = '<p class="error-message">Corkboard cannot be reached. Check your connection and try again.</p>';
  });

  // Drag and drop: one PATCH with the target column and position, the same request the Move form sends.
  function send(method, url, values, source) {
    return htmx.ajax(method, url, { source: source, values: values, swap: "none" });
  }

  function refreshBoard(columns) {
    htmx.ajax("GET", location.pathname + location.search, { target: columns, swap: "outerHTML" });
  }

  function initColumns(columns) {
    if (Sortable.get(columns) || columns.hasAttribute("data-filtered") || columns.hasAttribute("data-readonly")) return;
    Sortable.create(columns, {
      handle: ".column-handle", draggable: ".column", animation: 150,
      onEnd: function (event) {
        if (event.oldDraggableIndex === event.newDraggableIndex) return;
        send("PATCH", columns.dataset.boardUrl + "/columns/" + event.item.dataset.id + "/move",
             { position: event.newDraggableIndex }, event.item);
      }
    });
  }

  function initCards(list) {
    var columns = list.closest("#board-columns");
    if (!columns || Sortable.get(list) || columns.hasAttribute("data-filtered") || columns.hasAttribute("data-readonly")) return;
    Sortable.create(list, {
      group: "cards", draggable: ".card", animation: 150,
      onEnd: function (event) {
        if (event.from === event.to && event.oldDraggableIndex === event.newDraggableIndex) return;
        send("PATCH", columns.dataset.boardUrl + "/cards/" + event.item.dataset.id + "/move",
             { column_id: event.to.dataset.column, position: event.newDraggableIndex }, event.item);
      }
    });
  }

  // A failed drag leaves the board as the server has it.
  document.addEventListener("htmx:responseError", function (event) {
    var columns = document.getElementById("board-columns");
    if (columns && /\/move$/.test(event.detail.pathInfo.requestPath)) refreshBoard(columns);
  });

  // The "Clear filters" link shows while the URL carries filters.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var clear = document.querySelector("#board-filters .clear-filters");
    if (clear) clear.hidden = !location.search.replace("?", "").replace(/(^|&)[^=&]+=(?=&|$)/g, "");
  });

  // Back and forward restore the board from htmx's history cache; bring the filter form in line with the URL.
  document.addEventListener("htmx:historyRestore", function () {
    var form = document.getElementById("board-filters");
    if (!form) return;
    var params = new URLSearchParams(location.search);
    form.elements.q.value = params.get("q") || "";
    form.elements.due.value = params.get("due") || "";
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      box.checked = params.getAll(box.name).indexOf(box.value) !== -1;
    });
    form.querySelector(".clear-filters").hidden = !location.search.replace("?", "");
  });

  function each(root, selector, init) {
    if (root.matches && root.matches(selector)) init(root);
    if (root.querySelectorAll) root.querySelectorAll(selector).forEach(init);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Sortable) return;
    htmx.onLoad(function (root) {
      each(root, "#board-columns", initColumns);
      each(root, "ol.cards", initCards);
    });
  });
})();
