"""A board in the browser: columns, cards, drag and drop, renaming, search, errors, accounts."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .actions import (add_cards, add_column, card, card_titles, cards_in, column, column_titles, create_board, drag, is_move, log_in, log_out, open_add_card, settled)


# What these flows see comes from their own requests; test_live.py covers live updates.
pytestmark = pytest.mark.usefixtures("hold_live_stream")


def test_plan_a_sprint_with_drag_and_drop(signed_up_page: Page):
    page = signed_up_page
    create_board(page, "Website relaunch")
    expect(column_titles(page)).to_have_text(["To do", "Doing", "Done"])

    add_cards(page, "To do", ["Write the launch announcement", "Plan the team offsite",
                              "Review pull requests", "Update the privacy policy"])
    add_cards(page, "Doing", ["Design the new landing page", "Fix the login redirect"])
    add_cards(page, "Done", ["Set up the project board", "Invite the team"])
    expect(card_titles(page, "To do")).to_have_text([
        "Write the launch announcement", "Plan the team offsite",
        "Review pull requests", "Update the privacy policy"])

    # Into another column, between its two cards.
    with page.expect_response(is_move) as moved:
        drag(page, card(page, "Plan the team offsite"), card(page, "Fix the login redirect"), to="top")
    assert moved.value.ok
    page.reload()
    expect(card_titles(page, "To do")).to_have_text([
        "Write the launch announcement", "Review pull requests", "Update the privacy policy"])
    expect(card_titles(page, "Doing")).to_have_text([
        "Design the new landing page", "Plan the team offsite", "Fix the login redirect"])

    # Within a column: the last card to the top.
    with page.expect_response(is_move) as moved:
        drag(page, card(page, "Update the privacy policy"), card(page, "Write the launch announcement"), to="top")
    assert moved.value.ok
    page.reload()
    expect(card_titles(page, "To do")).to_have_text([
        "Update the privacy policy", "Write the launch announcement", "Review pull requests"])

    # To the end of another column.
    with page.expect_response(is_move) as moved:
        drag(page, card(page, "Review pull requests"), card(page, "Invite the team"), to="bottom")
    assert moved.value.ok
    page.reload()
    expect(card_titles(page, "Done")).to_have_text(["Set up the project board", "Invite the team",
                                                    "Review pull requests"])
    expect(card_titles(page, "To do")).to_have_text(["Update the privacy policy", "Write the launch announcement"])

    # A realistic board for the README.
    add_cards(page, "To do", ["Book the venue for the launch party", "Translate the FAQ into German"])
    page.reload()
    expect(cards_in(page, "To do")).to_have_count(4)


def test_add_a_column(board_page: Page):
    page = board_page
    add_column(page, "Review")
    expect(column_titles(page)).to_have_text(["To do", "Doing", "Done", "Review"])
    expect(page.get_by_label("Column name")).to_have_value("")
    add_cards(page, "Review", ["Proofread the pricing page"])
    page.reload()
    expect(column_titles(page)).to_have_text(["To do", "Doing", "Done", "Review"])
    expect(card_titles(page, "Review")).to_have_text(["Proofread the pricing page"])


def test_dragging_a_card_leaves_the_board_usable(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Write the changelog"])
    with page.expect_response(is_move):
        drag(page, card(page, "Write the changelog"), column(page, "Done").get_by_role("list"))
    expect(card_titles(page, "Done")).to_have_text(["Write the changelog"])
    add_cards(page, "To do", ["Tag the release"])  # the next thing a user does
    expect(page.get_by_role("dialog")).to_be_hidden()


def test_reorder_columns_by_their_handle(board_page: Page):
    page = board_page
    handle = column(page, "Done").locator(".column-handle")
    with page.expect_response(is_move) as moved:
        drag(page, handle, column(page, "To do").locator(".column-handle"))
    assert moved.value.ok
    expect(column_titles(page)).to_have_text(["Done", "To do", "Doing"])
    page.reload()
    expect(column_titles(page)).to_have_text(["Done", "To do", "Doing"])


def test_rename_board_and_column_in_place_and_delete_a_column(board_page: Page):
    page = board_page
    page.get_by_role("link", name="Sprint 12").click()
    title = page.get_by_label("Board name")
    expect(title).to_be_focused()
    settled(page)
    expect(title).to_have_value("Sprint 12")
    title.fill("Sprint 13")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Sprint 13", level=1)).to_be_visible()

    column(page, "Doing").get_by_role("link", name="Doing").click()
    title = page.locator("form.inline-edit").get_by_label("Column name")
    expect(title).to_have_value("Doing")
    settled(page)
    title.fill("In progress")
    title.press("Enter")
    expect(column_titles(page)).to_have_text(["To do", "In progress", "Done"])

    add_cards(page, "Done", ["Ship 2.3"])
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Actions for column Done").click()
    column(page, "Done").get_by_role("button", name="Delete column").click()
    expect(column_titles(page)).to_have_text(["To do", "In progress"])

    page.reload()
    expect(page.get_by_role("heading", name="Sprint 13", level=1)).to_be_visible()
    expect(column_titles(page)).to_have_text(["To do", "In progress"])
    expect(page.get_by_role("link", name="Ship 2.3")).to_have_count(0)


def test_search_filters_the_cards(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Fix the login redirect", "Write the announcement"])
    add_cards(page, "Done", ["Fix a typo in the footer"])

    page.get_by_role("searchbox", name="Search cards").fill("fix")
    expect(page).to_have_url(re.compile(r"/boards/\d+\?(.*&)?q=fix(&|$)"))
    expect(page.get_by_text("Showing cards matching “fix”")).to_be_visible()
    expect(card_titles(page, "To do")).to_have_text(["Fix the login redirect"])
    expect(card_titles(page, "Done")).to_have_text(["Fix a typo in the footer"])
    expect(page.get_by_role("button", name="Add card")).to_have_count(0)

    page.reload()  # the URL is the search
    expect(card_titles(page, "To do")).to_have_text(["Fix the login redirect"])
    expect(page.get_by_role("searchbox", name="Search cards")).to_have_value("fix")
    page.get_by_role("link", name="Clear search").click()
    expect(card_titles(page, "To do")).to_have_text(["Fix the login redirect", "Write the announcement"])


def test_back_after_a_search_shows_every_card(board_page: Page, page_errors: list[str]):
    page = board_page
    add_cards(page, "To do", ["Fix the login redirect", "Write the announcement"])
    page.get_by_role("searchbox", name="Search cards").fill("fix")
    expect(page).to_have_url(re.compile(r"[?&]q=fix(&|$)"))
    expect(card_titles(page, "To do")).to_have_text(["Fix the login redirect"])

    page.go_back()
    expect(page).to_have_url(re.compile(r"/boards/\d+$"))
    expect(card_titles(page, "To do")).to_have_text(["Fix the login redirect", "Write the announcement"])
    expect(page.get_by_role("searchbox", name="Search cards")).to_have_value("")
    todo = column(page, "To do")  # its add-card form is back, open or behind "Add a card"
    expect(todo.get_by_text("Add a card", exact=True).or_(todo.get_by_label("Card title")).locator("visible=true")).to_be_visible()
    assert page_errors == []


def test_add_card_errors_show_inline(board_page: Page):
    page = board_page
    todo = column(page, "To do")
    open_add_card(page, "To do")
    todo.get_by_role("button", name="Add card").click()
    expect(todo.get_by_text("Give it a title.")).to_be_visible()
    expect(cards_in(page, "To do")).to_have_count(0)
    settled(page)

    # maxlength stops typing at 200; a crafted request must still meet the server's check.
    todo.get_by_label("Card title").evaluate(
        "input => { input.removeAttribute('maxlength'); input.value = 'x'.repeat(201); }")
    todo.get_by_role("button", name="Add card").click()
    expect(todo.get_by_text("Keep it under 200 characters.")).to_be_visible()
    expect(cards_in(page, "To do")).to_have_count(0)
    settled(page)

    todo.get_by_label("Card title").fill("")
    add_cards(page, "To do", ["A title that fits"])
    expect(todo.get_by_text("Keep it under 200 characters.")).to_have_count(0)
    page.reload()
    expect(card_titles(page, "To do")).to_have_text(["A title that fits"])


def test_add_card_error_belongs_to_its_field(board_page: Page):
    page = board_page
    todo = column(page, "To do")
    open_add_card(page, "To do")
    todo.get_by_role("button", name="Add card").click()
    expect(todo.get_by_text("Give it a title.")).to_be_visible()
    field = todo.get_by_label("Card title")
    expect(field).to_have_accessible_description("Give it a title.")
    expect(field).to_have_attribute("aria-invalid", "true")


def test_board_survives_logging_out_and_in(board_page: Page, account):
    page = board_page
    add_cards(page, "Doing", ["Renew the TLS certificate", "Rotate the API keys"])
    log_out(page)
    page.goto("/boards/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    log_in(page, account)
    page.get_by_role("link", name="Sprint 12").click()
    expect(card_titles(page, "Doing")).to_have_text(["Renew the TLS certificate", "Rotate the API keys"])


def test_menus_close_on_escape_and_on_a_click_elsewhere(signed_up_page: Page):
    page = signed_up_page
    create_board(page, "Website relaunch")
    board_menu = page.locator("details.board-menu")
    board_menu.locator("summary").click()
    expect(page.get_by_role("button", name="Delete board")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Delete board")).to_be_hidden()
    expect(board_menu.locator("summary")).to_be_focused()  # focus goes back to the menu's button

    page.get_by_label("Actions for column Doing").click()
    expect(column(page, "Doing").get_by_role("button", name="Delete column")).to_be_visible()
    page.get_by_role("heading", name="Website relaunch").click()
    expect(column(page, "Doing").get_by_role("button", name="Delete column")).to_be_hidden()
