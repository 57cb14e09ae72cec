"""Labels and board colours in a browser: a label made from the card by keyboard, board colours on My boards."""
import re

from playwright.sync_api import Page, expect

from .actions import add_cards, card, open_card, settled

GREEN = "rgb(75, 206, 151)"  # --green
PURPLE = "rgb(159, 143, 239)"  # --purple


def test_create_a_label_from_the_card_with_the_keyboard(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Fix the login loop"])
    dialog = open_card(page, "Fix the login loop")
    # A new board starts with six unnamed colour labels, each named by its colour.
    for color in ("green", "yellow", "orange", "red", "purple", "blue"):
        expect(dialog.get_by_role("checkbox", name=f"{color} label")).to_be_visible()

    summary = dialog.locator("summary", has_text="Create a label")
    summary.focus()
    page.keyboard.press("Enter")
    name = dialog.get_by_label("Name", exact=True)
    expect(name).to_be_visible()
    name.click()
    page.keyboard.type("Blocked")
    page.keyboard.press("Tab")  # into the swatches: the first colour no label uses yet
    expect(dialog.get_by_role("radio", name="Sky")).to_be_focused()
    expect(dialog.get_by_role("radio", name="Sky")).to_be_checked()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    pink = dialog.get_by_role("radio", name="Pink")
    expect(pink).to_be_focused()
    expect(pink).to_be_checked()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Create label")).to_be_focused()
    page.keyboard.press("Enter")

    blocked = dialog.get_by_role("checkbox", name="Blocked")
    expect(blocked).to_be_checked()
    expect(blocked).to_be_focused()  # focus stays in the labels, on the new one
    face = card(page, "Fix the login loop")
    expect(face.locator(".label-pink")).to_have_text("Blocked")
    settled(page)

    # Unticking it takes it off the face, like any label.
    blocked.uncheck()
    expect(face.locator(".label-pink")).to_have_count(0)
    blocked.check()
    expect(face.locator(".label-pink")).to_have_text("Blocked")
    page.keyboard.press("Escape")
    page.reload()
    expect(card(page, "Fix the login loop").locator(".label-pink")).to_have_text("Blocked")


def test_a_new_label_with_a_name_taken_says_so_in_place(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Write the docs"])
    dialog = open_card(page, "Write the docs")
    dialog.locator("summary", has_text="Create a label").click()
    dialog.get_by_label("Name", exact=True).fill("Docs")
    dialog.get_by_role("button", name="Create label").click()
    expect(dialog.get_by_role("checkbox", name="Docs")).to_be_checked()
    settled(page)
    dialog.locator("summary", has_text="Create a label").click()
    dialog.get_by_label("Name", exact=True).fill("docs")
    dialog.get_by_role("button", name="Create label").click()
    expect(dialog.get_by_text("This board already has a label called “docs”.")).to_be_visible()
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    expect(dialog.get_by_role("checkbox", name="Docs")).to_have_count(1)


def test_a_board_colour_shows_on_its_tile(signed_up_page: Page):
    page = signed_up_page
    expect(page.get_by_text("No boards yet.")).to_be_visible()
    page.get_by_label("New board").fill("Garden")
    page.get_by_role("radio", name="Green").check()
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_role("heading", name="Garden", level=1)).to_be_visible()
    expect(page.locator("#board")).to_have_attribute("data-color", "green")

    page.goto("/boards/")
    tile = page.locator(".board-tile").filter(has=page.get_by_role("link", name=re.compile("^Garden")))
    expect(tile).to_have_css("background-color", GREEN)
    expect(tile).to_contain_text("1 member")
    expect(page.get_by_text("No boards yet.")).to_have_count(0)

    # Recolour it where it is renamed, in the board's header.
    tile.get_by_role("link").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Garden", exact=True).click()
    expect(page.get_by_label("Board name")).to_be_focused()
    settled(page)
    page.locator("#board-title").get_by_role("radio", name="Purple").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#board")).to_have_attribute("data-color", "purple")
    page.goto("/boards/")
    expect(page.locator(".board-tile").filter(has=page.get_by_role("link", name=re.compile("^Garden")))).to_have_css(
        "background-color", PURPLE)
