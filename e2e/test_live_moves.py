"""A card move sends only the moved card, placed before the card that now follows it: applied twice, or in
two windows moving cards at once, or answered after a newer live update, the board shows what a reload shows."""
import re
from playwright.sync_api import Page, Route, expect

from .actions import add_cards, card_count, card_titles, settled
from .test_live import wait_until_live

MOVE = re.compile(r"/cards/\d+/move$")


def send_move(page: Page, title: str, column_title: str, position: int) -> None:
    """The request a drag and drop sends (static/app.js), without the drag: the fastest way to
    interleave moves from two windows."""
    page.evaluate("""([title, columnTitle, position]) => {
        const face = [...document.querySelectorAll("li.card")].find(li => li.querySelector(":scope > a").textContent === title);
        const list = [...document.querySelectorAll("ol.cards")].find(ol =>
            ol.closest(".column").querySelector(".column-title, h2, h3").textContent.trim() === columnTitle);
        const board = document.getElementById("board-columns").dataset.boardUrl;
        htmx.ajax("PATCH", board + "/cards/" + face.id.slice(5) + "/move",
                  {source: face, target: document.body, swap: "none", values: {column_id: list.dataset.column, position: position}});
    }""", [title, column_title, position])


def order(page: Page, column_title: str) -> list[str]:
    return card_titles(page, column_title).all_text_contents()


def test_the_move_fragment_applied_twice_leaves_one_card_in_its_place(board_page: Page, page_errors: list[str]):
    page = board_page
    add_cards(page, "To do", ["One", "Two", "Three", "Four"])
    with page.expect_response(MOVE) as answer:
        send_move(page, "Four", "To do", 1)
    fragment = answer.value.text()
    expect(card_titles(page, "To do")).to_have_text(["One", "Four", "Two", "Three"])
    settled(page)
    page.evaluate("html => htmx.swap('#board-columns', html, {swapStyle: 'none'})", fragment)  # once more
    settled(page)
    expect(card_titles(page, "To do")).to_have_text(["One", "Four", "Two", "Three"])
    expect(card_count(page, "To do")).to_have_text("4")
    assert page.locator(".oob-stand-ins").count() == 0
    with page.expect_response(MOVE) as answer:
        send_move(page, "One", "Done", 0)
    fragment = answer.value.text()
    page.evaluate("html => htmx.swap('#board-columns', html, {swapStyle: 'none'})", fragment)
    settled(page)
    expect(card_titles(page, "Done")).to_have_text(["One"])
    expect(card_titles(page, "To do")).to_have_text(["Four", "Two", "Three"])
    expect(card_count(page, "Done")).to_have_text("1")
    assert len(fragment) < 4000
    assert page_errors == []


def test_two_windows_moving_cards_at_once_end_with_the_same_order(board_page: Page, page_errors: list[str]):
    page = board_page
    add_cards(page, "To do", ["One", "Two", "Three", "Four", "Five"])
    other = page.context.new_page()
    other.goto(page.url)
    wait_until_live(other)
    wait_until_live(page)
    for window, title, column_title, position in [
            (page, "One", "To do", 4), (other, "Five", "To do", 0), (page, "Three", "Doing", 0),
            (other, "Two", "Doing", 0), (page, "Four", "To do", 0), (other, "One", "Doing", 1),
            (page, "Five", "Done", 0), (other, "Four", "To do", 1)]:
        send_move(window, title, column_title, position)  # none waits for the one before
    settled(page)
    settled(other)
    reloaded = page.context.new_page()
    reloaded.goto(page.url)
    for column_title in ("To do", "Doing", "Done"):
        expected = order(reloaded, column_title)
        expect(card_titles(page, column_title)).to_have_text(expected)
        expect(card_titles(other, column_title)).to_have_text(expected)
    assert page_errors == []


def test_a_stale_answer_after_a_newer_live_update_does_not_reorder(board_page: Page, page_errors: list[str]):
    page = board_page
    add_cards(page, "To do", ["One", "Two", "Three"])
    other = page.context.new_page()
    other.goto(page.url)
    wait_until_live(page)
    wait_until_live(other)

    held = []

    def answer_later(route: Route) -> None:  # answered now by the server, handed to the page later
        held.append((route, route.fetch()))

    page.route(MOVE, answer_later)
    send_move(page, "Three", "To do", 0)
    expect(card_titles(other, "To do")).to_have_text(["Three", "One", "Two"])  # the move is saved
    settled(other)
    send_move(other, "Three", "Done", 0)  # newer: reaches the first window live, before its own answer
    expect(card_titles(page, "Done")).to_have_text(["Three"])
    expect(card_titles(page, "To do")).to_have_text(["One", "Two"])
    settled(page)
    assert len(held) == 1
    route, answer = held[0]
    with page.expect_response(MOVE):
        route.fulfill(response=answer)  # the first window's own, older answer arrives at last
    settled(page)
    page.wait_for_timeout(200)
    expect(card_titles(page, "Done")).to_have_text(["Three"])
    expect(card_titles(page, "To do")).to_have_text(["One", "Two"])
    expect(card_count(page, "To do")).to_have_text("2")
    assert page_errors == []


def test_an_update_older_than_the_page_makes_the_board_fetch_itself_afresh(board_page: Page, page_errors: list[str]):
    """Two servers can send two changes of one board in the other order than they were made; the
    older arrives second, and what it shows may be missing from the newer: the board reloads its columns."""
    page = board_page
    add_cards(page, "To do", ["One", "Two"])
    wait_until_live(page)
    with page.expect_response(MOVE):
        send_move(page, "Two", "Doing", 0)
    expect(card_titles(page, "Doing")).to_have_text(["Two"])
    settled(page)
    board_path = re.sub(r"^https?://[^/]+", "", page.url)
    with page.expect_request(lambda request: request.method == "GET" and request.url.endswith(board_path)
                             and request.headers.get("hx-request") == "true", timeout=3000):
        page.evaluate("""() => document.getElementById("live").dispatchEvent(new CustomEvent("htmx:sseBeforeMessage",
            {bubbles: true, cancelable: true, detail: {type: "board", data: "<!--v:1-->\\n<i></i>"}}))""")
    settled(page)
    expect(card_titles(page, "Doing")).to_have_text(["Two"])
    expect(card_titles(page, "To do")).to_have_text(["One"])
    assert page_errors == []
