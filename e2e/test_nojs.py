"""Without JavaScript every action is a plain form post and a redirect: the board still works."""
import re

import pytest
from playwright.sync_api import Page, expect

from .actions import card_titles, column, create_board, log_in, log_out, open_add_card, sign_up


@pytest.fixture
def nojs_page(new_context) -> Page:
    return new_context(java_script_enabled=False).new_page()


def add_card(page: Page, column_title: str, title: str) -> None:
    todo = column(page, column_title)
    open_add_card(page, column_title).fill(title)
    todo.get_by_role("button", name="Add card").click()


def test_board_works_without_javascript(nojs_page: Page, account):
    page = nojs_page
    sign_up(page, account)
    log_out(page)
    log_in(page, account)
    board_path = create_board(page, "Garden")
    # Nothing on this page updates by itself, so it must not claim to.
    expect(page.get_by_text("Live", exact=True)).to_be_hidden()

    add_card(page, "To do", "Plant the tomatoes")
    add_card(page, "To do", "Water the roses")
    expect(page).to_have_url(re.compile(re.escape(board_path) + "$"))
    expect(card_titles(page, "To do")).to_have_text(["Plant the tomatoes", "Water the roses"])

    # A card's Move page (where the m shortcut's dialog comes from) is a page of its own too.
    page.goto(page.get_by_role("link", name="Water the roses", exact=True).get_attribute("href") + "/move")
    expect(page.get_by_role("heading", name="Move “Water the roses”")).to_be_visible()
    page.get_by_label("Column").select_option(label="Done")
    page.get_by_label("Position").select_option(label="1 (top)")
    page.get_by_role("button", name="Move").click()
    expect(page).to_have_url(re.compile(re.escape(board_path) + "$"))
    expect(card_titles(page, "Done")).to_have_text(["Water the roses"])
    expect(card_titles(page, "To do")).to_have_text(["Plant the tomatoes"])

    # The card's own page: edit it, then move it with the form there.
    page.get_by_role("link", name="Plant the tomatoes", exact=True).click()
    expect(page.get_by_role("heading", name="Plant the tomatoes")).to_be_visible()
    page.get_by_label("Title").fill("Plant the tomatoes and basil")
    page.get_by_label("Description").fill("Six plants, by the south wall.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Plant the tomatoes and basil")).to_be_visible()
    page.get_by_label("Column").select_option(label="Done")
    page.get_by_label("Position").select_option(label="2")
    page.get_by_role("button", name="Move").click()
    expect(page).to_have_url(re.compile(re.escape(board_path) + "$"))
    expect(card_titles(page, "Done")).to_have_text(["Water the roses", "Plant the tomatoes and basil"])
    expect(column(page, "To do").get_by_role("listitem")).to_have_count(0)

    # Rename the board on a page of its own.
    page.get_by_role("link", name="Garden", exact=True).click()
    page.get_by_label("Board name").fill("Allotment")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Allotment", level=1)).to_be_visible()


def test_empty_card_title_without_javascript_shows_an_error_page(nojs_page: Page, account):
    page = nojs_page
    sign_up(page, account)
    board_path = create_board(page, "Garden")
    add_card(page, "Doing", "")
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    expect(page.get_by_text("Give it a title.")).to_be_visible()

    page.get_by_label("Card title").fill("Mow the lawn")
    page.get_by_role("button", name="Add card").click()
    expect(page).to_have_url(re.compile(re.escape(board_path) + "$"))
    expect(card_titles(page, "Doing")).to_have_text(["Mow the lawn"])


def test_deleting_without_javascript_asks_on_a_page_of_its_own(nojs_page: Page, account):
    page = nojs_page
    sign_up(page, account)
    board_path = create_board(page, "Garden")
    add_card(page, "To do", "Prune the apple tree")
    add_card(page, "To do", "Rake the leaves")

    page.get_by_role("link", name="Prune the apple tree", exact=True).click()
    page.get_by_role("button", name="Delete card").click()
    expect(page.get_by_role("heading", name="Delete the card “Prune the apple tree”?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()  # changed my mind: nothing happened
    expect(page.get_by_role("heading", name="Prune the apple tree")).to_be_visible()

    page.get_by_role("button", name="Delete card").click()
    page.get_by_role("button", name="Delete card").click()  # the confirmation page's own button
    expect(page).to_have_url(re.compile(re.escape(board_path) + "$"))
    expect(card_titles(page, "To do")).to_have_text(["Rake the leaves"])

    page.get_by_label("Actions for column To do").click()  # a <details>: no script needed
    page.get_by_role("button", name="Delete column").first.click()
    expect(page.get_by_role("heading", name="Delete the column “To do” and its cards?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(card_titles(page, "To do")).to_have_text(["Rake the leaves"])
