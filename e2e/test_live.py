"""Live boards: a change made in one window shows in every other open window of the board."""
import re
import time

import pytest
from playwright.sync_api import Page, Route, expect

from .actions import add_cards, card_count, card_titles, column, open_add_card, open_card, settled
from .conftest import LIVE_STREAM


def wait_until_live(page: Page) -> None:
    """The stream is open once the page lists who is viewing the board (a presence update)."""
    expect(page.get_by_role("list", name="Viewing now").get_by_role("listitem")).not_to_have_count(0)


def test_a_change_shows_on_every_open_board(board_page: Page, page_errors: list[str]):
    page = board_page
    page.route(LIVE_STREAM, lambda route: None)  # this window only sends changes
    page.reload()
    other = page.context.new_page()
    other.goto(page.url)
    wait_until_live(other)

    add_cards(page, "To do", ["Order the banners"])
    expect(card_titles(other, "To do")).to_have_text(["Order the banners"])
    dialog = open_card(page, "Order the banners")
    dialog.get_by_label("Title").fill("Order the banners and flyers")
    dialog.get_by_role("button", name="Save").click()
    expect(card_titles(other, "To do")).to_have_text(["Order the banners and flyers"])
    assert page_errors == []


def test_an_added_card_shows_once_for_whoever_added_it(board_page: Page):
    page = board_page
    wait_until_live(page)

    def answer_late(route: Route) -> None:  # as on a slow network: the live update comes first
        response = route.fetch()
        time.sleep(0.5)
        route.fulfill(response=response)

    page.route(re.compile(r"/columns/\d+/cards$"), answer_late)
    field = open_add_card(page, "To do")
    field.fill("Print the programme")
    with page.expect_response(re.compile(r"/columns/\d+/cards$")):
        field.press("Enter")
    expect(field).to_have_value("")  # the answer has been swapped in
    settled(page)
    expect(card_titles(page, "To do")).to_have_text(["Print the programme"])
    expect(card_count(page, "To do")).to_have_text("1")


@pytest.mark.parametrize("fault", ["down", "stalled"])
def test_the_board_says_live_updates_are_paused_while_redis_is_down_and_catches_up(
        browser, browser_context_args, tmp_path, fault):
    """With Redis down or stalled, a change is still saved and shown to its author; the board says live
    updates are paused (never reloads itself over and over), and once Redis is back it resumes
    by itself: a change from another window shows again."""
    import uuid

    from tests.redis_server import PrivateRedis, REDIS_SERVER
    from .actions import create_board, new_account, sign_up
    from .conftest import serve

    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    redis = PrivateRedis(tmp_path)
    try:
        with serve(tmp_path, REDIS_URL=redis.url, REDIS_PREFIX=f"e2e-{uuid.uuid4().hex}") as server:
            context = browser.new_context(**{**browser_context_args, "base_url": server.url})
            context.set_default_timeout(8_000)
            page = context.new_page()
            sign_up(page, new_account())
            create_board(page, "Paused board")
            wait_until_live(page)
            status = page.locator(".live-status")
            expect(status.get_by_text("Live", exact=True)).to_be_visible()
            expect(status.get_by_role("link", name="Reload")).to_be_hidden()
            loads = []
            page.on("request", lambda request: loads.append(request.url)
                    if request.resource_type == "document" else None)

            redis.kill() if fault == "down" else redis.freeze()
            expect(status.get_by_text("Live updates paused")).to_be_visible()
            expect(status.get_by_role("link", name="Reload")).to_be_visible()
            add_cards(page, "To do", ["Saved while paused"])  # saved, and the author sees it
            expect(card_titles(page, "To do")).to_have_text(["Saved while paused"])
            expect(page.locator("#errors")).to_be_empty()
            page.wait_for_timeout(3_000)
            assert loads == []  # no reload storm: the page did not reload itself at all

            redis.start() if fault == "down" else redis.thaw()
            expect(status.get_by_text("Live updates paused")).to_be_hidden()
            expect(status.get_by_text("Live", exact=True)).to_be_visible()
            other = context.new_page()
            other.goto(page.url)
            add_cards(other, "To do", ["After the outage"])
            expect(card_titles(page, "To do")).to_have_text(["Saved while paused", "After the outage"])
            assert loads == []
            context.close()
    finally:
        redis.stop()


def test_a_name_with_carriage_returns_makes_no_board_reload(board_page: Page, account, live_server):
    """A viewer named "…\revent: refresh\r…" once made every open board reload at each
    presence update: the name now stays inside the presence event's data."""
    import sqlite3

    page = board_page
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE users SET name = ? WHERE email = ?",
                           ("Ada\r\revent: refresh\rdata: x\r\r", account.email))
    page.reload()
    wait_until_live(page)
    board_path = re.sub(r"^https?://[^/]+", "", page.url)
    reloads = []
    page.on("request", lambda request: reloads.append(request.url)
            if request.method == "GET" and request.url.split("?")[0].endswith(board_path) else None)
    for _ in range(3):  # each tab that opens or closes the board sends a presence update
        other = page.context.new_page()
        other.goto(page.url)
        wait_until_live(other)
        other.close()
    page.wait_for_timeout(1_000)
    expect(page.get_by_role("list", name="Viewing now").get_by_role("listitem")).to_have_count(1)
    assert reloads == []
