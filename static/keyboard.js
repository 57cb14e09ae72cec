// Keyboard use of the board: focus stays on what a keyboard move moved (and #announcer says where
// it went), shortcuts in the manner of Trello, the shortcuts list, and the Move form's positions.
(function () {
  "use strict";

  var CARD_MOVE = /\/cards\/(\d+)\/move$/;
  var COLUMN_MOVE = /\/columns\/(\d+)\/move$/;
  var MENUS = "details.menu[open], details.board-menu[open], details.filter-menu[open], details.column-menu[open]";

  function boardColumns() { return document.getElementById("board-columns"); }
  function columnsOf(board) { return Array.prototype.slice.call(board.querySelectorAll(":scope > .column")); }
  function cardsOf(column) { return Array.prototype.slice.call(column.querySelectorAll("ol.cards > li.card")); }
  function cardLink(card) { return card.querySelector(":scope > a"); }  // a face's one link, its title
  function text(element) { return element ? element.textContent.replace(/\s+/g, " ").trim() : ""; }
  function columnTitle(column) { return text(document.getElementById("column-title-" + column.dataset.id)); }

  function focusedCard() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("#board-columns li.card") : null;
  }

  function announce(message) {
    var announcer = document.getElementById("announcer");
    if (!announcer) return;
    // Emptied first, so that the same words twice in a row are read twice.
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = message; }, 50);
  }

  // --- Focus and an announcement after a keyboard move -----------------------------------------
  // The Move form (dialog or card sidebar) and a column's "Move left/right" replace what they move,
  // and the dialog closes: without this, focus would drop to <body>. Drag and drop is left alone.
  var pending = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var detail = event.detail, elt = detail.elt;
    if (!elt || !elt.closest("form") || detail.requestConfig.verb !== "patch") return;  // a form, or a button in one
    var path = detail.pathInfo.requestPath, match;
    if ((match = CARD_MOVE.exec(path))) pending = { kind: "card", id: match[1], path: path };
    else if ((match = COLUMN_MOVE.exec(path))) pending = { kind: "column", id: match[1], path: path };
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var moved = pending;
    if (!moved || event.detail.pathInfo.requestPath !== moved.path) return;
    pending = null;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (!event.detail.successful || status < 200 || status > 299) return;  // the error area says what went wrong
    if (moved.kind === "card") landCard(moved.id);
    else landColumn(moved.id);
  });

  function landCard(id) {
    var card = document.getElementById("card-" + id);
    var column = card && card.closest(".column");
    if (!column) return;  // not on a board (the card's own page)
    var cards = cardsOf(column), link = cardLink(card);
    focusAfterSettle(link);
    announce("Moved “" + text(link) + "” to " + columnTitle(column) + ", position " +
             (cards.indexOf(card) + 1) + " of " + cards.length);
  }

  function landColumn(id) {
    var column = document.getElementById("column-" + id), board = boardColumns();
    if (!column || !board) return;
    var columns = columnsOf(board);
    focusAfterSettle(column.querySelector(".column-menu summary") || column.querySelector("summary"));
    announce("Moved column “" + columnTitle(column) + "” to position " + (columns.indexOf(column) + 1) +
             " of " + columns.length);
  }

  // Now, and again once htmx has settled the swapped content (which may focus an [autofocus]).
  function focusAfterSettle(element) {
    if (!element) return;
    element.focus();
    setTimeout(function () { if (element.isConnected && document.activeElement !== element) element.focus(); }, 40);
  }

  // A live update replaces the card lists that changed (the echo of one's own move too): whatever
  // had the focus in a card or a column header has it again in the fresh copy.
  var kept = null;
  function focusSpot(active) {
    var holder = active && active.closest && active.closest("li.card[id], #board-columns > .column[id]");
    if (!holder) return null;
    var selector = active.matches("li.card > a") ? ":scope > a" : active.matches("summary") ? "summary" : active.closest(".column-title") ? ".column-title a" : null;
    return selector && { id: holder.id, selector: selector };
  }
  document.addEventListener("htmx:sseBeforeMessage", function () { kept = focusSpot(document.activeElement); });
  document.addEventListener("htmx:sseMessage", function () {
    var spot = kept, active = document.activeElement;
    kept = null;
    if (!spot || (active && active !== document.body && active.isConnected)) return;  // focus survived
    var holder = document.getElementById(spot.id), element = holder && holder.querySelector(spot.selector);
    if (element) element.focus({ preventScroll: true });
  });

  // Shift+←/→: the card goes to the neighbouring column, at the same place (or last), with the
  // same request the Move form sends.
  function moveCardSideways(card, step) {
    var board = boardColumns();
    if (!board || board.hasAttribute("data-filtered") || board.closest(".read-only")) return false;
    var columns = columnsOf(board), from = card.closest(".column");
    var to = columns[columns.indexOf(from) + step];
    if (!to) return true;
    var index = Math.min(cardsOf(from).indexOf(card), cardsOf(to).length);
    var id = card.id.slice("card-".length), url = board.dataset.boardUrl + "/cards/" + id + "/move";
    pending = { kind: "card", id: id, path: url };
    htmx.ajax("PATCH", url, { source: card, target: document.body, swap: "none",
                              values: { column_id: to.dataset.id, position: index } });
    return true;
  }

  // --- Shortcuts -------------------------------------------------------------------------------
  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])");
  }

  function addCard() {
    var board = boardColumns();
    if (!board) return false;
    var card = focusedCard();
    var column = card ? card.closest(".column") : board.querySelector(":scope > .column");
    var input = column && column.querySelector('input[id^="add-card-title-"]');
    if (!input) return false;  // searching, or read-only: no form to open
    var details = input.closest("details");
    if (details) details.open = true;
    input.focus();
    return true;
  }

  // The Move dialog of the focused card; closing it brings the focus back to the card.
  function openMove() {
    var board = boardColumns(), card = focusedCard();
    if (!board || !card || board.closest(".read-only")) return false;
    var link = cardLink(card);
    htmx.ajax("GET", link.getAttribute("href") + "/move", { source: link });
    return true;
  }

  function search() {
    var field = document.querySelector('#board-filters input[type="search"]');
    if (!field) return false;
    field.focus();
    field.select();
    return true;
  }

  function moveFocus(key) {
    var board = boardColumns();
    if (!board) return false;
    var card = focusedCard(), active = document.activeElement;
    if (!card) {
      // Nothing in particular has the focus: start at the first card, as Trello does.
      if (active && active !== document.body && active.id !== "main") return false;
      var first = board.querySelector("ol.cards > li.card");
      if (first) cardLink(first).focus();
      return Boolean(first);
    }
    var column = card.closest(".column"), cards = cardsOf(column), index = cards.indexOf(card);
    var next = null;
    if (key === "ArrowUp") next = cards[index - 1];
    else if (key === "ArrowDown") next = cards[index + 1];
    else next = nearestSideways(board, column, card, key === "ArrowLeft" ? -1 : 1);
    if (next) cardLink(next).focus();
    return true;  // at an edge the focus stays where it is, and the page does not scroll
  }

  // The card of the nearest non-empty column that way, closest in height to the focused one.
  function nearestSideways(board, column, card, step) {
    var columns = columnsOf(board), middle = centre(card);
    for (var i = columns.indexOf(column) + step; i >= 0 && i < columns.length; i += step) {
      var cards = cardsOf(columns[i]);
      if (!cards.length) continue;
      return cards.reduce(function (best, other) {
        return Math.abs(centre(other) - middle) < Math.abs(centre(best) - middle) ? other : best;
      });
    }
    return null;
  }

  function centre(element) {
    var box = element.getBoundingClientRect();
    return box.top + box.height / 2;
  }

  function closeMenus(target) {
    var inside = target.closest && target.closest(MENUS);
    document.querySelectorAll(MENUS).forEach(function (menu) { menu.open = false; });
    if (inside) inside.querySelector("summary").focus();  // back to the button that opened it
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var key = event.key, target = event.target, done = false;
    if (key === "Escape") {  // an open dialog closes by itself (it is modal)
      if (!document.querySelector("dialog[open]")) closeMenus(target);
      return;
    }
    if (typing(target) || document.querySelector("dialog[open]")) return;
    if (key === "?") done = openShortcuts();
    else if (key === "/") done = search();
    else if (event.shiftKey && (key === "ArrowLeft" || key === "ArrowRight")) {
      var card = focusedCard();
      done = card ? moveCardSideways(card, key === "ArrowLeft" ? -1 : 1) : false;
    }
    else if (event.shiftKey) return;
    else if (key === "n") done = addCard();
    else if (key === "m") done = openMove();
    else if (/^Arrow(Up|Down|Left|Right)$/.test(key)) done = moveFocus(key);
    if (done) event.preventDefault();  // the key is not typed into what now has the focus
  });

  // --- The shortcuts list: in the board's dialog, or in a dialog of its own elsewhere ------------
  function shortcutsUrl() {
    var button = document.querySelector("[data-shortcuts]");
    if (!button) return null;  // logged out: there is no list to show
    return button.getAttribute("href") || button.getAttribute("data-shortcuts") || "/shortcuts";
  }

  function openShortcuts() {
    var url = shortcutsUrl();
    if (!url) return false;
    var body = document.getElementById("dialog-body");
    if (body) {  // static/app.js opens the board's dialog once the list is in
      htmx.ajax("GET", url, { source: body, target: body, swap: "innerHTML" });
      return true;
    }
    var box = document.getElementById("shortcuts-dialog");
    if (!box) {
      box = document.createElement("dialog");
      box.id = "shortcuts-dialog";
      box.className = "shortcuts-dialog";
      box.setAttribute("aria-labelledby", "shortcuts-title");
      box.appendChild(document.createElement("div")).className = "shortcuts-dialog-body";
      document.body.appendChild(box);
    }
    var content = box.firstChild;
    htmx.ajax("GET", url, { source: content, target: content, swap: "innerHTML" }).then(function () {
      if (content.childElementCount && !box.open) box.showModal();
    });
    return true;
  }

  // The board's dialog is named by the heading of the panel it shows (a card, Move, the shortcuts).
  document.addEventListener("htmx:afterSwap", function (event) {
    var body = event.detail.target, box = body && body.id === "dialog-body" && body.closest("dialog");
    if (!box) return;
    var panel = body.querySelector(":scope > [aria-labelledby]");
    if (panel) box.setAttribute("aria-labelledby", panel.getAttribute("aria-labelledby"));
    else box.removeAttribute("aria-labelledby");
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-shortcuts]");
    if (!button) return;
    event.preventDefault();
    var menu = button.closest("details");
    if (menu) {  // focus goes back to the menu's button when the list closes
      menu.open = false;
      menu.querySelector("summary").focus();
    }
    openShortcuts();
  });

  // --- The Move form offers as many positions as the chosen column has ---------------------------
  function syncPositions(form) {
    var column = form.elements.column_id, position = form.elements.position;
    var option = column && column.options[column.selectedIndex];
    if (!position || !option || !option.hasAttribute("data-size")) return;
    var size = parseInt(option.getAttribute("data-size"), 10) || 0;
    var count = option.value === form.getAttribute("data-card-column") ? Math.max(size, 1) : size + 1;
    var chosen = Math.min(Math.max(position.selectedIndex, 0), count - 1);
    while (position.options.length > count) position.remove(position.options.length - 1);
    while (position.options.length < count) {
      var index = position.options.length;
      position.add(new Option(String(index + 1) + (index === 0 ? " (top)" : ""), String(index)));
    }
    position.selectedIndex = chosen;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (event.target.name === "column_id" && form && form.classList.contains("move-card")) syncPositions(form);
  });

  htmx.onLoad(function (root) {
    if (root.matches && root.matches("form.move-card")) syncPositions(root);
    if (root.querySelectorAll) root.querySelectorAll("form.move-card").forEach(syncPositions);
  });
})();
