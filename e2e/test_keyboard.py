"""The board with the keyboard only: the Move dialog, focus after a move, shortcuts (n / arrows ? Escape)."""
import re

import pytest
from playwright.sync_api import Page, expect

from .actions import add_cards, card_titles, column, is_move, open_card, open_user_menu, settled



@pytest.fixture
def live_stream():
    """A test asking for this keeps its board's live stream; the others hold it (see below)."""


@pytest.fixture(autouse=True)
def own_requests_only(request):
    """What these flows see comes from their own requests; test_live.py covers live updates."""
    if "live_stream" not in request.fixturenames:
        request.getfixturevalue("hold_live_stream")


def card_link(page: Page, title: str):
    return page.locator("#board-columns").get_by_role("link", name=title, exact=True)


def announcer(page: Page):
    return page.locator("#announcer")


def open_move_dialog(page: Page, title: str):
    card_link(page, title).focus()
    page.keyboard.press("m")
    dialog = page.get_by_role("dialog", name=f"Move “{title}”")
    expect(dialog.get_by_role("heading", name=f"Move “{title}”")).to_be_visible()
    settled(page)
    return dialog


def test_the_move_dialog_names_the_card_and_closes(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Fix login"])
    dialog = open_move_dialog(page, "Fix login")
    expect(dialog.get_by_label("Column")).to_be_focused()  # not the close button: ready to choose
    expect(dialog.get_by_role("button", name="Move", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(card_link(page, "Fix login")).to_be_focused()  # back where it was opened


def test_the_move_dialog_offers_the_positions_of_the_chosen_column(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Alpha", "Beta", "Gamma"])
    add_cards(page, "Doing", ["Delta"])
    dialog = open_move_dialog(page, "Beta")
    position = dialog.get_by_label("Position")
    expect(position.locator("option")).to_have_text(["1 (top)", "2", "3"])
    expect(position.locator("option:checked")).to_have_text("2")
    dialog.get_by_label("Column").select_option(label="Doing")  # one card there: before or after it
    expect(position.locator("option")).to_have_text(["1 (top)", "2"])
    dialog.get_by_label("Column").select_option(label="Done")
    expect(position.locator("option")).to_have_text(["1 (top)"])


def test_focus_lands_on_the_card_after_a_move_in_the_dialog(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Fix login", "Write the notes"])
    add_cards(page, "Done", ["Plan", "Ship"])
    dialog = open_move_dialog(page, "Fix login")
    page.keyboard.press("End")  # To do → Done (the last column)
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # position 1 → 2
    expect(dialog.get_by_label("Position").locator("option:checked")).to_have_text("2")
    page.keyboard.press("Tab")
    with page.expect_response(is_move):
        page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    expect(card_titles(page, "Done")).to_have_text(["Plan", "Fix login", "Ship"])
    expect(card_link(page, "Fix login")).to_be_focused()
    assert page.evaluate("document.activeElement.closest('#card-dialog, body > *').id") != "card-dialog"
    expect(announcer(page)).to_have_text("Moved “Fix login” to Done, position 2 of 3")

    # Focus is on the card, so the keyboard carries on from there.
    page.keyboard.press("ArrowUp")
    expect(card_link(page, "Plan")).to_be_focused()


def test_focus_stays_on_the_card_when_a_live_update_replaces_its_column(board_page: Page, live_stream):
    page = board_page
    add_cards(page, "To do", ["Fix login", "Ship"])
    expect(page.get_by_text("Live", exact=True)).to_be_visible()
    card_link(page, "Fix login").focus()

    other = page.context.new_page()  # the same board in another window
    other.goto(page.url)
    expect(other.get_by_text("Live", exact=True)).to_be_visible()
    dialog = open_move_dialog(other, "Ship")
    dialog.get_by_label("Column").select_option(label="Done")
    with other.expect_response(is_move):
        dialog.get_by_role("button", name="Move", exact=True).click()

    expect(card_titles(page, "Done")).to_have_text(["Ship"])  # the To do list was replaced here too
    expect(card_titles(page, "To do")).to_have_text(["Fix login"])
    settled(page)
    expect(card_link(page, "Fix login")).to_be_focused()
    other.close()


def test_focus_lands_on_the_card_after_a_move_from_its_sidebar(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Fix login"])
    add_cards(page, "Doing", ["Review"])
    dialog = open_card(page, "Fix login")
    dialog.get_by_label("Column").select_option(label="Doing")
    dialog.get_by_label("Position").select_option(label="1 (top)")
    with page.expect_response(is_move):
        dialog.get_by_role("button", name="Move", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(card_titles(page, "Doing")).to_have_text(["Fix login", "Review"])
    expect(card_link(page, "Fix login")).to_be_focused()
    expect(announcer(page)).to_have_text("Moved “Fix login” to Doing, position 1 of 2")


def test_focus_lands_on_the_column_menu_after_moving_the_column(board_page: Page):
    page = board_page
    menu_button = page.get_by_label("Actions for column Doing")
    menu_button.focus()
    page.keyboard.press("Enter")
    move_right = column(page, "Doing").get_by_role("button", name="Move right")
    expect(move_right).to_be_visible()
    move_right.focus()
    with page.expect_response(is_move):
        page.keyboard.press("Enter")

    expect(page.locator("#board-columns").get_by_role("heading", level=2)).to_have_text(["To do", "Done", "Doing"])
    expect(page.get_by_label("Actions for column Doing")).to_be_focused()
    expect(announcer(page)).to_have_text("Moved column “Doing” to position 3 of 3")

    settled(page)
    page.keyboard.press("Enter")  # the same menu, now with only "Move left"
    expect(column(page, "Doing").get_by_role("button", name="Move left")).to_be_visible()
    expect(column(page, "Doing").get_by_role("button", name="Move right")).to_have_count(0)


def test_n_opens_the_add_card_form_of_the_focused_cards_column(board_page: Page):
    page = board_page
    add_cards(page, "Doing", ["Review"])
    card_link(page, "Review").focus()
    page.keyboard.press("n")
    field = column(page, "Doing").get_by_label("Card title")
    expect(field).to_be_focused()
    expect(field).to_have_value("")  # the n itself is not typed
    page.keyboard.insert_text("Second review")
    page.keyboard.press("Enter")
    expect(card_titles(page, "Doing")).to_have_text(["Review", "Second review"])


def test_n_with_no_card_focused_opens_the_first_column(board_page: Page):
    page = board_page
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("n")
    field = column(page, "To do").get_by_label("Card title")
    expect(field).to_be_visible()
    expect(field).to_be_focused()
    expect(field).to_have_value("")


def test_slash_focuses_the_search_and_typing_there_is_typing(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Alpha"])
    card_link(page, "Alpha").focus()
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search cards")
    expect(search).to_be_focused()
    expect(search).to_have_value("")
    page.keyboard.type("nope")  # n is a shortcut elsewhere, not in a field
    expect(search).to_have_value("nope")
    expect(search).to_be_focused()
    expect(column(page, "To do").get_by_label("Card title")).not_to_be_focused()
    page.keyboard.press("?")
    expect(search).to_have_value("nope?")
    expect(page.get_by_role("dialog")).to_be_hidden()


def test_arrows_move_between_cards(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Alpha", "Beta", "Gamma"])
    add_cards(page, "Doing", ["Delta"])
    add_cards(page, "Done", ["Epsilon", "Zeta", "Eta"])
    card_link(page, "Alpha").focus()
    page.keyboard.press("ArrowDown")
    expect(card_link(page, "Beta")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(card_link(page, "Gamma")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the last one: focus stays
    expect(card_link(page, "Gamma")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(card_link(page, "Beta")).to_be_focused()
    page.keyboard.press("ArrowRight")  # Doing's only card
    expect(card_link(page, "Delta")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(card_link(page, "Epsilon")).to_be_focused()  # nearest in height
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(card_link(page, "Eta")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(card_link(page, "Delta")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(card_link(page, "Alpha")).to_be_focused()  # Alpha sits level with Delta
    page.keyboard.press("Enter")  # a card's link opens it
    expect(page.get_by_role("dialog").get_by_role("heading", name="Alpha")).to_be_visible()


def test_arrows_skip_an_empty_column(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Alpha"])
    add_cards(page, "Done", ["Omega"])
    card_link(page, "Alpha").focus()
    page.keyboard.press("ArrowRight")
    expect(card_link(page, "Omega")).to_be_focused()


def test_shift_arrow_moves_the_card_to_the_next_column(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Alpha", "Beta"])
    add_cards(page, "Doing", ["Gamma"])
    card_link(page, "Beta").focus()
    with page.expect_response(is_move):
        page.keyboard.press("Shift+ArrowRight")
    expect(card_titles(page, "Doing")).to_have_text(["Gamma", "Beta"])
    expect(card_titles(page, "To do")).to_have_text(["Alpha"])
    expect(card_link(page, "Beta")).to_be_focused()
    expect(announcer(page)).to_have_text("Moved “Beta” to Doing, position 2 of 2")
    settled(page)
    with page.expect_response(is_move):
        page.keyboard.press("Shift+ArrowLeft")
    expect(card_titles(page, "To do")).to_have_text(["Alpha", "Beta"])
    expect(card_link(page, "Beta")).to_be_focused()
    expect(announcer(page)).to_have_text("Moved “Beta” to To do, position 2 of 2")
    page.reload()
    expect(card_titles(page, "To do")).to_have_text(["Alpha", "Beta"])
    expect(card_titles(page, "Doing")).to_have_text(["Gamma"])


def test_question_mark_lists_the_shortcuts_and_escape_closes_them(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Alpha"])
    card_link(page, "Alpha").focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    for key in ("n", "/", "?", "Esc", "Enter"):
        expect(dialog.locator("kbd", has_text=re.compile(f"^{re.escape(key)}$")).first).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(card_link(page, "Alpha")).to_be_focused()


def test_escape_closes_a_menu(board_page: Page):
    page = board_page
    page.get_by_label("Actions for column To do").click()
    rename = column(page, "To do").get_by_role("link", name="Rename")
    expect(rename).to_be_visible()
    page.keyboard.press("Escape")
    expect(rename).to_be_hidden()
    expect(page.get_by_label("Actions for column To do")).to_be_focused()

    open_user_menu(page)
    shortcuts = page.get_by_role("link", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()


def test_the_account_menu_opens_the_shortcuts_on_any_page(signed_up_page: Page):
    page = signed_up_page  # My boards: no board dialog here
    open_user_menu(page)
    page.get_by_role("link", name="Keyboard shortcuts").click()
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label(re.compile("^Account menu"))).to_be_focused()

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
