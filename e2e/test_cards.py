"""One card: move it with the keyboard, open it, edit it, delete it."""
import pytest
from playwright.sync_api import Page, expect

from .actions import add_cards, card, card_count, card_titles, is_move, open_card, settled

# What these flows see comes from their own requests; test_live.py covers live updates.
pytestmark = pytest.mark.usefixtures("hold_live_stream")


def test_move_a_card_with_the_keyboard_only(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Alpha", "Beta"])
    add_cards(page, "Doing", ["Gamma"])
    expect(card_count(page, "To do")).to_have_text("2")

    page.locator("#board-columns").get_by_role("link", name="Beta", exact=True).focus()
    page.keyboard.press("m")  # the Move dialog of the focused card
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    settled(page)
    column_choice = dialog.get_by_label("Column")
    expect(column_choice).to_be_focused()
    expect(column_choice.locator("option:checked")).to_have_text("To do")
    page.keyboard.press("ArrowDown")  # To do → Doing
    expect(column_choice.locator("option:checked")).to_have_text("Doing")
    page.keyboard.press("Tab")
    position = dialog.get_by_label("Position")
    expect(position).to_be_focused()
    expect(position.locator("option:checked")).to_have_text("2")
    page.keyboard.press("Home")  # the top
    expect(position.locator("option:checked")).to_have_text("1 (top)")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Move")).to_be_focused()
    with page.expect_response(is_move):
        page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    expect(card_titles(page, "Doing")).to_have_text(["Beta", "Gamma"])
    expect(card_titles(page, "To do")).to_have_text(["Alpha"])
    expect(card_count(page, "To do")).to_have_text("1")
    expect(card_count(page, "Doing")).to_have_text("2")
    page.reload()
    expect(card_titles(page, "Doing")).to_have_text(["Beta", "Gamma"])
    expect(card_titles(page, "To do")).to_have_text(["Alpha"])


def test_open_edit_and_delete_a_card(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Draft the release notes", "Tag the release"])

    dialog = open_card(page, "Draft the release notes")
    dialog.get_by_label("Title").fill("Publish the release notes")
    dialog.get_by_label("Description").fill("Changelog for 2.4, with the upgrade steps.")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("heading", name="Publish the release notes")).to_be_visible()
    expect(card_titles(page, "To do")).to_have_text(["Publish the release notes", "Tag the release"])
    expect(card(page, "Publish the release notes").get_by_title("Has a description")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.reload()
    expect(card_titles(page, "To do")).to_have_text(["Publish the release notes", "Tag the release"])
    open_card(page, "Publish the release notes")
    expect(dialog.get_by_label("Description")).to_have_value("Changelog for 2.4, with the upgrade steps.")

    page.on("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Delete card").click()
    expect(dialog).to_be_hidden()
    expect(card_titles(page, "To do")).to_have_text(["Tag the release"])
    expect(card_count(page, "To do")).to_have_text("1")
    page.reload()
    expect(card_titles(page, "To do")).to_have_text(["Tag the release"])


def test_card_dialog_fits_a_laptop_screen(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Order the conference badges"])
    dialog = open_card(page, "Order the conference badges")
    expect(dialog.get_by_role("heading", name="Order the conference badges")).to_be_in_viewport()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
