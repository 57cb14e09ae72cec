#!/usr/bin/env python3
"""The board page in a real browser: load times, bytes, and the author's own round trips (add a
card, move it, edit it) until htmx settles.

    cd /work/main && .venv/bin/python bench/browser.py [--cards 100,1000] [--loads 3] [--drops 5]
        [--adds 5] [--edits 5] [--timeout 300]

What it does, all in a throw-away temp dir (the real instance/ database is never touched):
  0. builds the script and style bundles as the sources are now (webapp/assets.py), as the
     browser tests do;
  1. migrates a fresh SQLite database and seeds, through the app's own models, one user and one
     4-column board per --cards figure (cards spread evenly, realistic titles and descriptions,
     a third of them labelled), like bench/board_page.py;
  2. starts Hypercorn (`python -m webapp.serve --workers 1`) on a free port on 127.0.0.1, in its
     own process group;
  3. drives Debian's Chromium with Playwright: logs in through the login form, then per board
     opens the page --loads times, each in a fresh context (cold cache), and reads
       dom_ready_ms    Navigation Timing's domContentLoadedEventEnd (deferred scripts have run),
       first_paint_ms  Paint Timing's first-paint (first-contentful-paint when absent),
       bytes_total     decodedBodySize (uncompressed) of the document and every resource it
                       fetched (CSS, JS, the icon sprite, images, fonts; not the live stream),
       js_bytes, css_bytes  the same for .js and .css files alone,
     (medians over the loads); then, on one page, drags a card to another column with the mouse
     --drops times (after one warm-up drag), each timed from the drop to the first frame where the
     move request has answered and htmx has nothing left in flight, swapping or settling
     (drop_to_settled_ms, the median);
  4. on a fresh page, adds a card --adds times (after one warm-up): types a title into the first
     column's "Add a card" form and presses Enter, timed from the form's submit event to the same
     end, the add request answered and htmx idle (add_to_settled_ms);
  5. on a fresh page, edits a card --edits times (after one warm-up): opens a card's dialog (not
     timed), opens "Edit card", changes the title and clicks Save, timed from the submit to the
     same end (edit_to_settled_ms; what the answer loads in turn, the card's activity, counts).
Each timing is split into its phases: the start to the request leaving (htmx:beforeRequest), the
request until its whole answer is in (readyState 4; the server's part, the request's Resource
Timing requestStart to responseStart, is shown beside it), and the answer until the settled frame.

One line per board is machine-readable:
  browser cards=<n> dom_ready_ms=<n> first_paint_ms=<n> bytes_total=<n> js_bytes=<n> css_bytes=<n> drop_to_settled_ms=<n> add_to_settled_ms=<n> edit_to_settled_ms=<n>
The whole run is bounded by --timeout; the server is stopped however it ends. Exits 1 when the
benchmark itself is invalid (the board page not shown, a move, an add or an edit refused).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from board_page import (COLUMN_TITLES, EMAIL, HOST, OBJECTS, PASSWORD, ROOT, SENTENCES, VERBS,  # noqa: E402
                        free_port, migrate, start_server, stop_server, wait_healthy)

sys.path.insert(0, str(ROOT))
from e2e.actions import drag  # noqa: E402  the e2e suite's drag: real pointer motion, as SortableJS wants

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
LABELS = (("Design", "purple"), ("Bug", "red"), ("Marketing", "sky"), ("Legal", "orange"),
          ("Backend", "green"), ("Blocked", "yellow"))
# {figure: (on the board of this many cards, at most)}; the author's own add, move and edit, from
# the action to the settled page, as on an idle server.
TARGETS = {"dom_ready_ms": (1000, 800), "bytes_total": (100, 200 * 1024), "drop_to_settled_ms": (1000, 50),
           "add_to_settled_ms": (1000, 50), "edit_to_settled_ms": (1000, 50)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", default="100,1000", help="cards per board, comma-separated (100,1000)")
    parser.add_argument("--loads", type=int, default=3, help="cold page loads per board (3)")
    parser.add_argument("--drops", type=int, default=5, help="timed drags per board (5)")
    parser.add_argument("--adds", type=int, default=5, help="timed card adds per board (5)")
    parser.add_argument("--edits", type=int, default=5, help="timed card edits per board (5)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds the whole run may take (300)")
    args = parser.parse_args(argv)
    args.card_counts = [int(n) for n in args.cards.split(",") if n.strip()]
    if not args.card_counts or min(args.card_counts) < 2:
        parser.error("--cards: each board needs at least 2 cards (one to drag, one to drop on)")
    return args


# --------------------------------------------------------------------------- setup

def seed(card_counts: list[int]) -> dict[int, int]:
    """One user and a board per card count; returns {card count: board id}."""
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Board, BoardColumn, BoardMember, Card, Label, User
    from webapp.ordering import keys_after

    rng = random.Random(20240601)
    app = create_app()
    boards = {}
    with app.app_context():
        user = User(name="Bench User", email=EMAIL)
        user.set_password(PASSWORD)
        db.session.add(user)
        for count in card_counts:
            board = Board(title=f"Product launch ({count} cards)", owner=user)
            board.members = [BoardMember(user=user, role="owner")]
            labels = [Label(name=name, color=color) for name, color in LABELS]
            board.labels = labels
            per_column = [count // len(COLUMN_TITLES) + (i < count % len(COLUMN_TITLES)) for i in range(len(COLUMN_TITLES))]
            for title, key, n in zip(COLUMN_TITLES, keys_after(None, len(COLUMN_TITLES)), per_column):
                column = BoardColumn(title=title, position=key)
                column.cards = [
                    Card(board=board, title=f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}",
                         description=" ".join(rng.sample(SENTENCES, rng.choice((2, 2, 3)))), position=card_key,
                         labels=[rng.choice(labels)] if rng.random() < 1 / 3 else [])
                    for card_key in keys_after(None, n)
                ]
                board.columns.append(column)
            db.session.add(board)
            db.session.flush()
            boards[count] = board.id
        db.session.commit()
        db.engine.dispose()
    return boards


# --------------------------------------------------------------------------- the browser

# Read once the page has loaded: the navigation's timings and what it fetched, uncompressed.
PAGE_FIGURES = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const paints = Object.fromEntries(performance.getEntriesByType("paint").map(p => [p.name, p.startTime]));
    const fetched = [nav, ...performance.getEntriesByType("resource")]
        .filter(e => !/\\/events(\\?|$)/.test(new URL(e.name).pathname));  // the live stream never ends
    const size = (pattern) => fetched.filter(e => pattern.test(new URL(e.name).pathname))
                                     .reduce((sum, e) => sum + e.decodedBodySize, 0);
    return {
        dom_ready_ms: nav.domContentLoadedEventEnd,
        first_paint_ms: paints["first-paint"] ?? paints["first-contentful-paint"] ?? -1,
        bytes_total: fetched.reduce((sum, e) => sum + e.decodedBodySize, 0),
        js_bytes: size(/\\.js$/), css_bytes: size(/\\.css$/),
        files: fetched.map(e => [new URL(e.name).pathname, e.decodedBodySize]),
    };
}"""

# Times the author's own actions: from the start (the drop or the button's release for a drag,
# the form's submit for an add or an edit) to the first frame after the action's request has
# answered in which htmx has nothing in flight, swapping or settling. The phases end when the
# request leaves (htmx:beforeRequest) and when its whole answer is in (readyState 4, before htmx
# handles it). The check starts at the request's own `loadend` (htmx has swapped the answer by then): htmx:afterRequest fires on the element that
# sent it, which the live update of the same change may already have replaced (the dragged
# card), so it need not reach the document. `server` is the request's Resource Timing,
# requestStart to responseStart: the server's part of the request.
ROUND_TRIP_TIMER = """() => {
    const bench = window.__trip = {armed: false, pattern: null, method: null, t0: null, t1: null};
    const started = () => { if (bench.armed && bench.t0 === null) bench.t0 = performance.now(); };
    for (const type of ["drop", "dragend", "pointerup", "mouseup", "submit"]) document.addEventListener(type, started, true);
    const BUSY = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added";
    document.addEventListener("htmx:beforeRequest", (event) => {
        const path = event.detail.pathInfo.requestPath;
        if (!bench.armed || bench.sent || event.detail.requestConfig.verb !== bench.method
            || !new RegExp(bench.pattern).test(path)) return;
        bench.sent = performance.now();
        bench.url = new URL(path, location.href).href;
        const xhr = event.detail.xhr;
        // The whole answer is in (readyState 4 comes before "load", where htmx swaps it); the
        // check starts once htmx has swapped it ("loadend" comes after "load").
        xhr.addEventListener("readystatechange", () => { if (xhr.readyState === 4) bench.answered = performance.now(); });
        xhr.addEventListener("loadend", () => {
            const check = () => {
                if (document.querySelector(BUSY)) requestAnimationFrame(check);
                else bench.t1 = performance.now();
            };
            requestAnimationFrame(check);
        });
    });
}"""
ARM = """([method, pattern]) => Object.assign(window.__trip,
    {armed: true, method, pattern, t0: null, t1: null, sent: null, answered: null, url: null})"""
# The request's Resource Timing entry: requestStart to responseStart, the server's part.
SERVER_MS = """(url) => {
    const entries = performance.getEntriesByName(url, "resource");
    const entry = entries[entries.length - 1];
    return entry && entry.requestStart > 0 ? entry.responseStart - entry.requestStart : null;
}"""


def log_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/boards/**")


def cold_loads(browser, state: dict, url: str, cards: int, loads: int) -> dict:
    figures = []
    for _ in range(loads):
        context = browser.new_context(storage_state=state, viewport=VIEWPORT)
        try:
            page = context.new_page()
            response = page.goto(url, wait_until="load")
            if not response or response.status != 200 or page.url != url:
                raise RuntimeError(f"GET {url}: status {response and response.status}, ended at {page.url}")
            shown = page.locator("#board-columns .card").count()
            if shown != cards:
                raise RuntimeError(f"{url} shows {shown} cards, expected {cards}")
            page.wait_for_timeout(300)  # what the page fetches as it renders (the icon sprite) has arrived
            figures.append(page.evaluate(PAGE_FIGURES))
        finally:
            context.close()
    result = {key: statistics.median(f[key] for f in figures)
              for key in ("dom_ready_ms", "first_paint_ms", "bytes_total", "js_bytes", "css_bytes")}
    result["files"] = figures[-1]["files"]
    return result


def board_page(browser, state: dict, url: str):
    """A context and a page on the board, its scripts ready and the round-trip timer installed."""
    context = browser.new_context(storage_state=state, viewport=VIEWPORT)
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.htmx && window.Sortable && document.querySelector('.cards') "
                           "&& Sortable.get(document.querySelector('.cards'))")
    page.evaluate(ROUND_TRIP_TIMER)
    return context, page


class Trips:
    """The timed round trips of one kind: totals, and phases (start to request sent, request to
    answer, answer to the settled frame), and the server's part of each request."""

    def __init__(self, page, method: str, pattern: str, what: str):
        self.page, self.method, self.pattern, self.what = page, method, pattern, what
        self.statuses: list[int] = []
        self.times: list[float] = []
        self.phases: list[tuple[float, float, float]] = []
        self.server: list[float] = []
        compiled = re.compile(pattern)
        page.on("response", lambda r: self.statuses.append(r.status)
                if r.request.method == method.upper() and compiled.search(urlsplit(r.url).path) else None)

    def time(self, act, timed: bool) -> None:
        """Arms the timer, does `act()`, waits for the settled frame and records it if `timed`."""
        page = self.page
        page.evaluate(ARM, [self.method, self.pattern])
        before = len(self.statuses)
        act()
        page.wait_for_function("() => window.__trip.t1 !== null", timeout=10_000)
        timing = page.evaluate("() => window.__trip")
        page.evaluate("() => { window.__trip.armed = false; }")
        page.wait_for_timeout(50)  # the response event has reached Python
        if len(self.statuses) == before or not 200 <= self.statuses[-1] < 300:
            raise RuntimeError(f"{self.what}: no successful request (statuses {self.statuses[before:]})")
        if timing["t0"] is None:
            raise RuntimeError(f"{self.what}: its start was not seen (no drop, pointerup or submit event)")
        if timed:
            self.times.append(timing["t1"] - timing["t0"])
            self.phases.append((timing["sent"] - timing["t0"], timing["answered"] - timing["sent"],
                                timing["t1"] - timing["answered"]))
            server = page.evaluate(SERVER_MS, timing["url"])
            if server is not None:
                self.server.append(server)

    def summary(self) -> str:
        split = ", ".join(f"{t:.0f} ({a:.0f}+{b:.0f}+{c:.0f})" for t, (a, b, c) in zip(self.times, self.phases))
        medians = " + ".join(f"{statistics.median(p[i] for p in self.phases):.1f}" for i in range(3))
        server = f", server {statistics.median(self.server):.1f}" if self.server else ""
        return f"{split} ms; median {statistics.median(self.times):.1f} = {medians}{server}"


def drops(browser, state: dict, url: str, count: int) -> Trips:
    """Drags the first card of the first column onto the second card of the second, `count`
    times after a warm-up."""
    context, page = board_page(browser, state, url)
    try:
        trips = Trips(page, "patch", r"/cards/\d+/move$", "a drag-and-drop")
        for attempt in range(count + 1):  # the first is a warm-up
            source = page.locator("#board-columns ol.cards").nth(0).locator("> .card").first
            target = page.locator("#board-columns ol.cards").nth(1).locator("> .card").nth(1)
            trips.time(lambda: drag(page, source, target), timed=attempt > 0)
            page.wait_for_timeout(300)  # the live echo of the move lands before the next drag
        return trips
    finally:
        context.close()


def adds(browser, state: dict, url: str, count: int) -> Trips:
    """Adds a card to the first column through its "Add a card" form, `count` times after a warm-up."""
    context, page = board_page(browser, state, url)
    try:
        trips = Trips(page, "post", r"/columns/\d+/cards$", "adding a card")
        column = page.locator("#board-columns > .column").first
        column.locator("details.add-card > summary").click()
        cards = column.locator("ol.cards > .card")
        for attempt in range(count + 1):
            field = column.get_by_label("Card title")
            field.fill(f"Benchmark card {attempt + 1}")
            before = cards.count()
            trips.time(lambda: field.press("Enter"), timed=attempt > 0)
            if cards.count() != before + 1:
                raise RuntimeError(f"adding a card: the column shows {cards.count()} cards, expected {before + 1}")
            page.wait_for_timeout(300)  # the live echo of the add lands before the next one
        return trips
    finally:
        context.close()


def edits(browser, state: dict, url: str, count: int) -> Trips:
    """Renames the first card of the second column in its dialog, `count` times after a warm-up;
    opening the dialog is not timed."""
    context, page = board_page(browser, state, url)
    try:
        trips = Trips(page, "put", r"/cards/\d+$", "editing a card")
        dialog = page.locator("#card-dialog")
        for attempt in range(count + 1):
            face = page.locator("#board-columns ol.cards").nth(1).locator("> .card").first
            face.locator(":scope > a").click()
            dialog.get_by_role("heading", level=2).wait_for()
            page.wait_for_function("() => document.getElementById('card-dialog').open "
                                   "&& !document.querySelector('.htmx-request, .htmx-settling')")
            edit = dialog.locator("details.card-edit")
            if edit.get_attribute("open") is None:
                edit.locator("summary").click()
            title = f"Benchmark title {attempt + 1}"
            dialog.get_by_label("Title", exact=True).fill(title)
            trips.time(lambda: dialog.get_by_role("button", name="Save").click(), timed=attempt > 0)
            if dialog.locator("#card-detail-title").inner_text().strip() != title:
                raise RuntimeError("editing a card: the dialog does not show the new title")
            page.wait_for_timeout(300)  # the live echo of the edit lands
            page.keyboard.press("Escape")
            page.wait_for_function("() => !document.getElementById('card-dialog').open")
        return trips
    finally:
        context.close()


def verdict(name: str, cards: int, value: float) -> str:
    for_cards, limit = TARGETS[name]
    if cards != for_cards:
        return ""
    return f" [{name} target <= {limit:,}: {'ok' if value <= limit else 'MISSED'}]"


# --------------------------------------------------------------------------- main

class OutOfTime(Exception):
    pass


def main(argv=None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import Error as PlaywrightError, sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="corkboard-browser-bench-"))
    env = dict(os.environ)
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}", SECRET_KEY=secrets.token_hex(32),
               RATELIMIT_ENABLED="0")
    for name in ("FLASK_DEBUG", "REDIS_URL", "MAIL_SERVER"):
        env.pop(name, None)
    os.environ.update(DATABASE_URL=env["DATABASE_URL"], SECRET_KEY=env["SECRET_KEY"])

    def out_of_time(signum, frame):
        raise OutOfTime(f"the benchmark took longer than --timeout {args.timeout} s")
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(args.timeout)
    proc = None
    try:
        from webapp import assets
        assets.build(ROOT / "static")  # the bundles as the sources are now
        migrate(env)
        boards = seed(args.card_counts)
        port = free_port()
        log_path = tmp / "hypercorn.log"
        proc = start_server(env, port, 1, log_path)
        wait_healthy(proc, port, log_path)
        base = f"http://{HOST}:{port}"
        print(f"Corkboard in Chromium ({CHROMIUM}), Hypercorn -w 1 on {base}; boards of {args.cards} cards, "
              f"{args.loads} cold loads, {args.drops} drags, {args.adds} adds and {args.edits} edits each (medians)", flush=True)
        lines = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                login = browser.new_context(viewport=VIEWPORT)
                log_in(login.new_page(), base)
                state = login.storage_state()
                login.close()
                for cards, board_id in boards.items():
                    url = f"{base}/boards/{board_id}"
                    load = cold_loads(browser, state, url, cards, args.loads)
                    trips = {"drop": drops(browser, state, url, args.drops),
                             "add": adds(browser, state, url, args.adds),
                             "edit": edits(browser, state, url, args.edits)}
                    settled = {kind: statistics.median(t.times) for kind, t in trips.items()}
                    files = ", ".join(f"{'HTML' if n == 0 else path.rsplit('/', 1)[-1]} {size:,}"
                                      for n, (path, size) in enumerate(load["files"]))
                    print(f"{cards} cards: bytes: {files}")
                    for kind, what in (("drop", "drops"), ("add", "adds"), ("edit", "edits")):
                        print(f"{cards} cards: {what} {trips[kind].summary()} "
                              f"(start to request + request + answer to settled)"
                              + verdict(f"{kind}_to_settled_ms", cards, settled[kind]))
                    print(f"{cards} cards: page" + verdict("dom_ready_ms", cards, load["dom_ready_ms"])
                          + verdict("bytes_total", cards, load["bytes_total"]), flush=True)
                    lines.append(f"browser cards={cards} dom_ready_ms={load['dom_ready_ms']:.0f} "
                                 f"first_paint_ms={load['first_paint_ms']:.0f} bytes_total={load['bytes_total']:.0f} "
                                 f"js_bytes={load['js_bytes']:.0f} css_bytes={load['css_bytes']:.0f} "
                                 f"drop_to_settled_ms={settled['drop']:.0f} add_to_settled_ms={settled['add']:.0f} "
                                 f"edit_to_settled_ms={settled['edit']:.0f}")
            finally:
                browser.close()
        load1, load5, _ = os.getloadavg()
        if load1 > 1.5:
            print(f"warning: load average {load1:.1f} (5 min {load5:.1f}) on {os.cpu_count()} CPUs: other processes "
                  "were busy, the figures are pessimistic; run again on a quiet machine")
        for line in lines:
            print(line)
        return 0
    except (RuntimeError, OutOfTime, PlaywrightError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
