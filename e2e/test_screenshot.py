"""The README's pictures, taken from the demo board `make run` seeds: the board, its richest card
open, the board on a phone and in the dark theme.

This module runs its own Hypercorn on a fresh database, loads the demo exactly as `make run` does
(`flask seed-demo --if-empty`) and logs in as the demo user. Each picture is checked for what it
is meant to show, so the test fails when the demo (or the page) regresses.

`make screenshots` writes them to docs/ (CORKBOARD_SCREENSHOTS=docs); a plain test run keeps them
in test-results/, so running the tests never changes a tracked file."""
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from webapp.cli import DEMO_EMAIL, DEMO_PASSWORD

from .actions import Account, column, column_titles, log_in, open_user_menu, settled
from .conftest import CHROMIUM, EXPECTED_CONSOLE_ERRORS, REPO_ROOT, LiveServer, serve
from .test_a11y import page_is_dark
from .test_layout import WIDE_THINGS
from .test_teams import viewers

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's Chromium")

# pytest-playwright empties test-results/ as every test session starts; CORKBOARD_SCREENSHOTS=<folder> keeps them elsewhere.
PICTURES = REPO_ROOT / os.environ.get("CORKBOARD_SCREENSHOTS", "test-results")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
DEMO = Account(name="Demo", email=DEMO_EMAIL, password=DEMO_PASSWORD)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A Hypercorn on its own database, with the demo loaded as `make run` loads it."""
    workdir = tmp_path_factory.mktemp("corkboard-demo")
    with serve(workdir) as server:
        env = {name: value for name, value in os.environ.items()
               if name not in ("FLASK_DEBUG", "FLASK_APP", "REDIS_URL") and not name.startswith("MAIL_")}
        env.update({"DATABASE_URL": server.database_url, "UPLOAD_FOLDER": str(workdir / "uploads"),
                    "SECRET_KEY": secrets.token_hex(32)})
        seed = subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "seed-demo", "--if-empty"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert seed.returncode == 0, f"flask seed-demo failed:\n{seed.stdout}\n{seed.stderr}"
        assert DEMO_EMAIL in seed.stdout, f"flask seed-demo loaded no demo:\n{seed.stdout}"
        yield server


@pytest.fixture
def demo(browser: Browser, demo_server: LiveServer) -> Iterator[Page]:
    """A page logged in as the demo user, on the demo board, in the light theme; fails the test on
    any page or console error, or a server traceback."""
    log_start = demo_server.log_size()
    errors: list[str] = []
    context: BrowserContext = browser.new_context(base_url=demo_server.url, viewport=LAPTOP, locale="en-GB",
                                                  color_scheme="light")
    context.set_default_timeout(10_000)
    context.on("weberror", lambda error: errors.append(str(error.error)))
    context.on("console", lambda message: errors.append(f"console: {message.text}")
               if message.type == "error" and not EXPECTED_CONSOLE_ERRORS.search(message.text) else None)
    page = context.new_page()
    try:
        log_in(page, DEMO)
        tiles = page.locator(".board-tile:not(.create-tile) a")
        expect(tiles, "the demo user has no board on My boards").not_to_have_count(0)
        tiles.first.click()
        board_open(page)
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    server_log = demo_server.log_since(log_start)
    assert "Traceback" not in server_log, f"The server logged an error:\n{server_log}"


def board_open(page: Page) -> None:
    """The board has loaded and is live: its stream connected, the demo user among those viewing it
    (so every picture shows the same header)."""
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state()
    expect(viewers(page), "the board's live stream did not show who is viewing").to_have_count(1)


def still(page: Page) -> None:
    """Wait until the page is at rest: htmx settled, web fonts loaded, every image on screen
    decoded, transitions and animations (bar endless ones) finished."""
    settled(page)
    page.wait_for_function("""async () => {
        await document.fonts.ready;
        const onScreen = [...document.images].filter(img => {
            const box = img.getBoundingClientRect();
            return box.width && box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
        });
        await Promise.all(onScreen.map(img => img.decode().catch(() => null)));
        await Promise.all(document.getAnimations()
            .filter(animation => animation.effect?.getComputedTiming().iterations !== Infinity)
            .map(animation => animation.finished.catch(() => null)));
        return onScreen.every(img => img.complete && img.naturalWidth > 0);
    }""")


def shoot(page: Page, name: str) -> Path:
    path = PICTURES / f"screenshot-{name}.png"
    PICTURES.mkdir(parents=True, exist_ok=True)
    still(page)
    page.screenshot(path=path, animations="disabled", caret="hide")
    return path


def faces_on_screen(page: Page) -> dict:
    """What the card faces fully inside the window show, counted."""
    return page.evaluate("""() => {
        const shown = el => {
            const box = el.getBoundingClientRect();
            return box.width > 0 && box.left >= 0 && box.right <= innerWidth && box.top >= 0 && box.bottom <= innerHeight;
        };
        const faces = [...document.querySelectorAll("#board-columns .card")].filter(shown);
        const count = selector => faces.filter(face => face.querySelector(selector)).length;
        return {
            cards: faces.length,
            named_labels: faces.filter(face => [...face.querySelectorAll(".label")].some(l => l.textContent.trim())).length,
            avatars: count(".avatar"),
            covers: faces.filter(face => [...face.querySelectorAll("img.cover")].some(img => img.naturalWidth > 0)).length,
            due: count("time.due"),
            checklists: count("[title=Checklist]"),
            comments: count("[title=Comments]"),
        };
    }""")


def lanes_fully_shown(page: Page) -> int:
    return page.locator("#board-columns section.column").evaluate_all("""(lanes) => lanes.filter(lane => {
        const box = lane.getBoundingClientRect();
        return box.width > 0 && box.left >= 0 && box.right <= innerWidth;
    }).length""")


def richest_card(page: Page) -> tuple[str, str]:
    """The title of the card whose face promises the most inside (a cover, so an attachment; a
    description, a checklist, comments; more comments break a tie), and its column's."""
    return page.evaluate("""() => {
        const score = face => {
            const comments = parseInt(face.querySelector("[title=Comments]")?.textContent || "0", 10);
            const parts = ["img.cover", "[title='Has a description']", "[title=Checklist]", "[title=Comments]"]
                .filter(selector => face.querySelector(selector)).length;
            return parts * 100 + comments;
        };
        const faces = [...document.querySelectorAll("#board-columns .card")];
        faces.sort((a, b) => score(b) - score(a));
        return [faces[0].querySelector(":scope > a").textContent.trim(),
                faces[0].closest(".column").querySelector(".column-title").textContent.trim()];
    }""")


def test_the_board(demo: Page):
    page = demo
    still(page)
    assert len(column_titles(page).all()) >= 4, "the demo board has fewer than four columns"
    assert lanes_fully_shown(page) >= 4, "fewer than four columns fit fully in 1280 px"
    shown = faces_on_screen(page)
    for what in ("named_labels", "avatars", "covers", "due", "checklists", "comments"):
        assert shown[what], f"no card face on screen shows {what.replace('_', ' ')}: {shown}"
    assert shown["cards"] >= 12, f"only {shown['cards']} whole cards on screen: {shown}"
    expect(page.locator("time.due.overdue").first, "no card is overdue").to_be_visible()
    shoot(page, "board")


def test_an_open_card(demo: Page):
    page = demo
    still(page)
    title, _ = richest_card(page)
    page.get_by_role("link", name=title, exact=True).click()
    dialog = page.get_by_role("dialog")
    heading = dialog.get_by_role("heading", name=title, level=2)
    expect(heading).to_be_visible()
    expect(dialog.get_by_role("button", name="Close")).to_be_visible()
    expect(dialog.locator(".description"), "the card's description is not shown").not_to_be_empty()
    expect(dialog.locator(".checklist-items li").first, "the card's checklist is not shown").to_be_visible()
    expect(dialog.locator("#comments .comment").first, "the card's comments are not shown").to_be_visible()
    expect(dialog.locator("#attachments .attachment").first, "the card's attachment is not listed").to_be_attached()
    expect(dialog.get_by_role("complementary", name="Card actions")).to_be_visible()
    still(page)
    box = heading.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"], f"the card's title is off screen: {box}"
    # The picture shows the dialog as it opens, without the focus ring of the button that was clicked.
    page.evaluate("document.activeElement?.blur()")
    shoot(page, "card")


def test_the_board_on_a_phone(demo: Page):
    page = demo
    page.set_viewport_size(PHONE)
    page.reload()
    board_open(page)
    still(page)
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
    # The lane with the richest card, reached the way a phone user does: its name in the row above.
    _, lane = richest_card(page)
    jump = page.get_by_role("navigation", name="Jump to column").get_by_role("link", name=lane, exact=True)
    jump.click()
    expect(jump, f"jumping to {lane} did not mark it as the lane shown").to_have_attribute("aria-current", "true")
    page.wait_for_function("""() => new Promise(done => {
        const strip = document.getElementById("board-columns");
        let last = strip.scrollLeft, still = 0;
        const look = () => {
            still = strip.scrollLeft === last ? still + 1 : 0;
            last = strip.scrollLeft;
            if (still >= 5) done(true); else requestAnimationFrame(look);
        };
        requestAnimationFrame(look);
    })""")
    box = column(page, lane).bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"the {lane} lane is not wholly on screen: {box}"
    found = page.evaluate(WIDE_THINGS)
    assert found["scrollWidth"] <= found["innerWidth"], (
        f"the demo board is {found['scrollWidth']} px wide on a {found['innerWidth']} px phone; what sticks out:\n"
        + "\n".join(found["wide"]))
    still(page)
    shown = faces_on_screen(page)
    assert shown["cards"] >= 2 and shown["named_labels"] and shown["covers"] and shown["avatars"], (
        f"the {lane} lane shows too little on a phone: {shown}")
    shoot(page, "phone")


def test_the_board_in_the_dark(demo: Page):
    page = demo
    page.emulate_media(color_scheme="dark")
    open_user_menu(page)
    try:
        with page.expect_response(lambda r: r.url.endswith("/account/theme") and r.request.method == "POST"):
            page.get_by_role("button", name="Dark", exact=True).click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.reload()  # as the board opens for someone who picked Dark: menu closed, nothing hovered
        board_open(page)
        expect(page.locator("html"), "the Dark theme was not remembered").to_have_attribute("data-theme", "dark")
        assert page_is_dark(page), "the Dark theme is chosen but the page's text is not light"
        still(page)
        shown = faces_on_screen(page)
        assert shown["named_labels"] and shown["covers"] and shown["avatars"], f"the dark board shows too little: {shown}"
        shoot(page, "dark")
    finally:
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        page.request.post("/account/theme", form={"theme": "system", "csrf_token": token})
