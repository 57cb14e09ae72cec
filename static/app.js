// Corkboard glue: the card dialog, drag and drop, and visible errors. Behaviour lives in hx-* attributes.
(function () {
  "use strict";

  function dialog() { return document.getElementById("card-dialog"); }

  // Card detail and move forms are swapped into the dialog, which then opens, once the styles
  // the fragment names (the dialogs', on the board) are in.
  document.addEventListener("htmx:afterSwap", function (event) {
    var box = dialog();
    var target = event.detail.target;  // none for live-update swaps
    if (!target) return;
    var styling = assetsFor(target);
    if (!box || target.id !== "dialog-body" || !target.childElementCount) return;
    var open = function () { if (target.childElementCount && !box.open) box.showModal(); };
    if (styling) styling.then(open);
    else open();
  });

  // A fragment's stylesheets and scripts (named by preload links: htmx drops the script tags it
  // swaps in) move to the page's head, once: there they stay for the next fragments, which then
  // wait for nothing. Returns what to wait for before showing the fragment, the styles, or null.
  function assetsFor(fragment) {
    fragment.querySelectorAll('link[rel="preload"][as="script"]').forEach(function (link) {
      var src = link.getAttribute("href");
      link.remove();
      if (document.head.querySelector('script[src="' + src + '"]')) return;
      var loaded = document.createElement("script");
      loaded.src = src;
      document.head.appendChild(loaded);
    });
    var waits = [];
    fragment.querySelectorAll('link[rel="stylesheet"]').forEach(function (link) {
      var href = link.getAttribute("href");
      var sheet = document.head.querySelector('link[rel="stylesheet"][href="' + href + '"]');
      link.remove();
      if (!sheet) {
        sheet = document.createElement("link");
        sheet.rel = "stylesheet";
        sheet.href = href;
        document.head.appendChild(sheet);
      }
      if (!sheet.sheet) {
        waits.push(new Promise(function (done) {
          sheet.addEventListener("load", done, { once: true });
          sheet.addEventListener("error", done, { once: true });
        }));
      }
    });
    return waits.length ? Promise.all(waits) : null;
  }
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
    // An explicit target, so as not to inherit the card links' dialog target; the body, not the card,
    // because the live echo may replace the card first, and htmx:beforeSwap (the version check below)
    // fires on the target: on a detached card no listener would hear it.
    return htmx.ajax(method, url, { source: source, target: document.body, values: values, swap: "none" });
  }

  function refreshBoard(columns) {
    htmx.ajax("GET", location.pathname + location.search, { target: columns, swap: "outerHTML" });
  }

  // Once, a little later, however many updates came out of order; at a moment of its own in each
  // browser, so that a board open in many of them is not asked for by all at once.
  var refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      var columns = document.getElementById("board-columns");
      if (columns) refreshBoard(columns);
    }, 200 + Math.random() * 800);
  }

  // On a touch screen a card is picked up after a short hold, so a swipe still scrolls the board.
  var TOUCH_HOLD_MS = 250;

  function initColumns(columns) {
    if (Sortable.get(columns) || columns.hasAttribute("data-filtered") || columns.closest(".read-only")) return;
    Sortable.create(columns, {
      handle: ".column-handle", draggable: ".column", animation: 150, delay: TOUCH_HOLD_MS, delayOnTouchOnly: true,
      onEnd: function (event) {
        if (event.oldDraggableIndex === event.newDraggableIndex) return;
        send("PATCH", columns.dataset.boardUrl + "/columns/" + event.item.dataset.id + "/move",
             { position: event.newDraggableIndex }, event.item);
      }
    });
  }

  function initCards(list) {
    var columns = list.closest("#board-columns");
    if (!columns || Sortable.get(list) || columns.hasAttribute("data-filtered") || columns.closest(".read-only")) return;
    Sortable.create(list, {
      group: "cards", draggable: ".card", animation: 150, delay: TOUCH_HOLD_MS, delayOnTouchOnly: true,
      touchStartThreshold: 5,
      onEnd: function (event) {
        if (event.from === event.to && event.oldDraggableIndex === event.newDraggableIndex) return;
        send("PATCH", columns.dataset.boardUrl + "/cards/" + event.item.id.slice("card-".length) + "/move",
             { column_id: event.to.dataset.column, position: event.newDraggableIndex }, event.item);
      }
    });
  }

  // A card's links (open it, move it) load into their list's hx-target, as hx-get links would; the
  // faces carry no hx-get each, since a board repeats them hundreds of times. A click with a
  // modifier key or the middle button still opens the link's own page in a new tab.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("ol.cards[hx-target] > li.card > a[href]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    htmx.ajax("GET", link.getAttribute("href"), { source: link });
  });

  // A click anywhere on a card's face opens it, as its title link does.
  document.addEventListener("click", function (event) {
    var face = event.target.closest && event.target.closest("#board-columns li.card");
    if (!face || event.target.closest("a, button, input")) return;
    var link = face.querySelector(":scope > a");
    if (link) link.click();
  });

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

  // Live updates (Server-Sent Events, webapp/live.py). Each "board" event is a set of
  // out-of-band swaps, stamped with the board's version: an older state never replaces a newer one.
  var boardVersion = 0;
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    if (event.detail.type !== "board") return;
    var stamp = /^<!--v:(\d+)-->/.exec(event.detail.data);
    var version = stamp ? parseInt(stamp[1], 10) : 0;
    if (version < boardVersion) {
      // Older than what the page shows: two changes were sent at once (by two servers, or this
      // change's answer came first), and what this one shows may be missing from the newer one.
      event.preventDefault();
      if (stamp) refreshSoon();
      return;
    }
    boardVersion = version;
    var columns = document.getElementById("board-columns");
    if (columns && columns.hasAttribute("data-filtered")) {  // the fragments are unfiltered
      event.preventDefault();
      refreshBoard(columns);
      return;
    }
    if (stamp && shownAlready(event.detail.data)) event.preventDefault();
  });

  // The author's own answer to a move or a new card and the live update of the same change carry
  // the same stamped fragment, whichever arrives first: when the other is word for word the last
  // one swapped in, the board shows it already and it is not swapped in again.
  var lastStamped = null;
  function shownAlready(stamped) {
    stamped = stamped.trim();
    if (stamped === lastStamped) return true;
    lastStamped = stamped;
    return false;
  }

  // The author's own response to a move or a new card carries the same stamp, up to <!--/v-->
  // (webapp/cards.publish_placed). It is a delta (one card put before the card that follows it),
  // so applied after a newer live update it could put the card where it no longer is: older
  // than what the page shows, the stamped part is left out (what follows, a fresh form, still
  // swaps). On a filtered board the board reloads instead, as for a live update.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var text = event.detail.serverResponse;
    var stamp = typeof text === "string" && /^<!--v:(\d+)-->/.exec(text);
    if (!stamp) return;
    var version = parseInt(stamp[1], 10), end = text.indexOf("<!--/v-->");
    var columns = document.getElementById("board-columns");
    var filtered = columns && columns.hasAttribute("data-filtered");
    var rest = end === -1 ? "" : text.slice(end + "<!--/v-->".length);
    if (version < boardVersion || filtered) {
      event.detail.serverResponse = rest;
      if (filtered && version >= boardVersion) refreshBoard(columns);
    } else if (end !== -1 && shownAlready(text.slice(0, end))) {
      event.detail.serverResponse = rest;
    }
    if (version > boardVersion) boardVersion = version;
  });

  // The stream reconnects by itself; when it had to start afresh, it says where it left off.
  htmx.createEventSource = function (url) {
    var live = document.getElementById("live");
    var source = new EventSource(url, { withCredentials: true });
    function setParam(name, value) {
      var link = new URL(live.getAttribute("sse-connect"), location.href);
      link.searchParams.set(name, value);
      live.setAttribute("sse-connect", link.pathname + link.search);
    }
    source.addEventListener("board", function (event) { if (event.lastEventId) setParam("last", event.lastEventId); });
    source.addEventListener("presence", function (event) { if (event.lastEventId) setParam("last", event.lastEventId); });
    source.addEventListener("token", function (event) { setParam("token", event.data); });
    function catchUp() {
      var columns = document.getElementById("board-columns");
      if (columns) refreshBoard(columns);
    }
    // A refresh carries the id to continue from: after a restart the old one is from another epoch.
    source.addEventListener("refresh", function (event) {
      if (event.lastEventId) setParam("last", event.lastEventId);
      catchUp();
    });
    // The server lost its broker (Redis): say so until it is back, then reload the board once.
    source.addEventListener("live", function (event) {
      if (event.data === "paused") liveState("paused");
      else if (event.data === "resumed") { liveState("live"); catchUp(); }
    });
    source.addEventListener("revoked", function () { source.close(); location.reload(); });
    live.liveSource = source;  // the open stream, for the browser tests and a curious developer
    return source;
  };
  // The live indicator: "Live", "Reconnecting…" (no stream) or "Live updates paused" (a stream
  // that cannot get updates), with a link to reload the board meanwhile.
  function liveState(state) {
    document.body.classList.toggle("live-down", state !== "live");
    var status = document.querySelector(".live-status");
    if (status) status.hidden = false;
    var offline = document.querySelector(".live-status .live-offline");
    if (!offline) return;
    offline.textContent = state === "paused" ? offline.dataset.paused : offline.dataset.reconnecting;
    var reload = document.querySelector(".live-status .live-reload");
    if (reload) reload.hidden = state !== "paused";
  }
  document.addEventListener("htmx:sseOpen", function () { liveState("live"); });
  document.addEventListener("htmx:sseError", function () { liveState("reconnecting"); });

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

// --- Dismissing an error: the page allows no inline handlers (Content-Security-Policy). -------
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest('[data-dismiss="error"]');
    var message = button && button.closest(".error-message");
    if (message) message.remove();
  });
})();

// --- Pop-up menus (<details class="menu">): Escape or a click elsewhere closes them. --------
(function () {
  "use strict";
  var MENUS = "details.menu[open]";

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = event.target.closest && event.target.closest(MENUS);
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();  // back to the button that opened it
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll(MENUS).forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  // One menu at a time: opening one closes the others.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches(MENUS)) return;
    document.querySelectorAll(MENUS).forEach(function (other) {
      if (other !== menu && !other.contains(menu)) other.open = false;
    });
  }, true);
})();

// --- Small conveniences of the board's forms. ---------------------------------------------------
(function () {
  "use strict";

  // "Add a card" / "Add a column" open their form with the field focused; × closes it again.
  document.addEventListener("toggle", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("details.add-card, details.add-column") || !box.open) return;
    if (box.hasAttribute("data-quiet")) { box.removeAttribute("data-quiet"); return; }
    var field = box.querySelector("input[name=title]");
    if (field) field.focus();
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-close-details]");
    if (!button) return;
    var box = button.closest("details");
    box.open = false;
    box.querySelector("summary").focus();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var box = event.target.closest && event.target.closest("details.add-card[open], details.add-column[open]");
    if (!box) return;
    box.open = false;
    box.querySelector("summary").focus();
  });

  // A live update may redraw the columns while someone is typing a card's or a column's title:
  // the redrawn forms come back open, with what was typed and the focus, instead of closed.
  var openForms = null;
  function rememberOpenForms(event) {
    var target = event.detail.target;
    if (!target || !target.querySelectorAll) return;
    openForms = openForms || [];
    target.querySelectorAll("details.add-card[open] form, details.add-column[open] form").forEach(function (form) {
      var field = form.querySelector("input[name=title]");
      openForms.push({ id: form.id, value: field ? field.value : "", focused: field === document.activeElement });
    });
  }
  function reopenForms() {
    if (!openForms) return;
    openForms.forEach(function (was) {
      var form = document.getElementById(was.id);
      var box = form && form.closest("details");
      if (!box || box.open) return;
      box.setAttribute("data-quiet", "");  // reopened, not opened: the focus stays where it was
      box.open = true;
      var field = form.querySelector("input[name=title]");
      if (!field) return;
      if (!field.value) field.value = was.value;
      if (was.focused) field.focus();
    });
    openForms = null;
  }
  document.addEventListener("htmx:beforeSwap", rememberOpenForms);
  document.addEventListener("htmx:oobBeforeSwap", rememberOpenForms);
  document.addEventListener("htmx:afterSwap", reopenForms);
  document.addEventListener("htmx:oobAfterSwap", reopenForms);

  // The filter buttons say how many labels or members are picked.
  document.addEventListener("change", function (event) {
    var menu = event.target.closest && event.target.closest("#board-filters details.filter-menu");
    if (!menu) return;
    var count = menu.querySelectorAll("input[type=checkbox]:checked").length;
    menu.querySelector(".filter-count").textContent = count ? String(count) : "";
  });

  // The theme applies at once; the server remembers it for every device.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".theme-picker button[name=theme]");
    if (!button) return;
    var theme = button.value;
    document.documentElement.dataset.theme = theme;
    var scheme = document.querySelector('meta[name="color-scheme"]');
    if (scheme) scheme.content = theme === "system" ? "light dark" : theme;
    button.closest("fieldset").querySelectorAll("button").forEach(function (other) {
      other.setAttribute("aria-pressed", other === button ? "true" : "false");
    });
  });

  // On a phone the columns snap one at a time: a row of their names jumps between them.
  function laneJump(columns) {
    var nav = document.getElementById("lane-jump");
    if (!nav) {
      nav = document.createElement("nav");
      nav.id = "lane-jump";
      nav.className = "lane-jump";
      nav.setAttribute("aria-label", "Jump to column");
      columns.parentNode.insertBefore(nav, columns);
    }
    nav.replaceChildren();
    columns.querySelectorAll(":scope > .column").forEach(function (lane) {
      var link = document.createElement("a");
      link.href = "#" + lane.id;
      link.textContent = lane.querySelector(".column-title").textContent.trim();
      nav.appendChild(link);
    });
    // Where the lanes are is known once the page is laid out: asking now would lay out every
    // card before the page has even loaded.
    requestAnimationFrame(function () { markLane(columns); });
  }
  function markLane(columns) {
    var nav = document.getElementById("lane-jump");
    if (!nav) return;
    var middle = columns.getBoundingClientRect().left + columns.clientWidth / 2;
    nav.querySelectorAll("a").forEach(function (link) {
      var lane = document.getElementById(link.hash.slice(1));
      var box = lane && lane.getBoundingClientRect();
      var here = box && box.left <= middle && box.right >= middle;
      if (here) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
    });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#lane-jump a");
    if (!link) return;
    event.preventDefault();
    var lane = document.getElementById(link.hash.slice(1));
    if (lane) lane.scrollIntoView({ behavior: "smooth", inline: "center", block: "nearest" });
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) return;
    htmx.onLoad(function (root) {
      var columns = root.id === "board-columns" ? root : root.querySelector && root.querySelector("#board-columns");
      if (!columns) return;
      laneJump(columns);
      columns.addEventListener("scroll", function () { markLane(columns); }, { passive: true });
    });
  });
})();
