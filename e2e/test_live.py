"""Live boards: a change made in one window shows in every other open window of the board."""
import re
import time

from playwright.sync_api import Page, Route, expect

from .actions import add_cards, card_count, card_titles, column, open_card, settled
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
    field = column(page, "To do").get_by_label("Card title")
    field.fill("Print the programme")
    with page.expect_response(re.compile(r"/columns/\d+/cards$")):
        field.press("Enter")
    expect(field).to_have_value("")  # the answer has been swapped in
    settled(page)
    expect(card_titles(page, "To do")).to_have_text(["Print the programme"])
    expect(card_count(page, "To do")).to_have_text("1")
