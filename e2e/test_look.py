"""How the board behaves in the hand: the card dialog scrolls in one place and keeps its header,
the keyboard cannot wander out of it, the filter buttons count what is picked, a phone jumps
between columns, and the skip link skips."""
import re

from playwright.sync_api import Page, expect

from .actions import add_cards, add_column, card, column, open_card

LONG_TEXT = "\n\n".join(f"Paragraph {n}: " + "a long description that a team wrote over weeks. " * 6 for n in range(30))


def test_the_card_dialog_scrolls_in_one_place_and_keeps_its_header(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["A card with a long description"])
    open_card(page, "A card with a long description")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Description", exact=True).fill(LONG_TEXT)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".description").get_by_text("Paragraph 29:")).to_be_attached()
    board_scroll = page.evaluate("[scrollX, scrollY, document.getElementById('board-columns').scrollLeft]")

    body = dialog.locator(".dialog-body")
    body.hover()
    for _ in range(10):
        page.mouse.wheel(0, 800)
    page.wait_for_timeout(200)

    assert body.evaluate("el => el.scrollTop") > 1000, "the dialog's body scrolls"
    title = dialog.get_by_role("heading", name="A card with a long description")
    close = dialog.get_by_role("button", name="Close")
    expect(title).to_be_in_viewport()
    expect(close).to_be_in_viewport()
    assert dialog.evaluate("el => el.scrollTop") == 0, "the panel itself does not slide"
    assert page.evaluate("[scrollX, scrollY, document.getElementById('board-columns').scrollLeft]") == board_scroll, \
        "the board behind the dialog stays where it was"


def test_the_keyboard_stays_inside_an_open_dialog(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Keep the focus here"])
    open_card(page, "Keep the focus here")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Keep the focus here")).to_be_visible()
    outside = []
    for _ in range(60):
        page.keyboard.press("Tab")
        if not page.evaluate("() => !document.activeElement || document.activeElement === document.body"
                             " || Boolean(document.activeElement.closest('#card-dialog'))"):
            outside.append(page.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
    assert not outside, f"Tab reached the page behind the dialog: {outside[:3]}"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_filter_buttons_count_what_is_picked(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Something to filter"])
    page.reload()
    labels = page.locator("#board-filters details.filter-menu").filter(has_text="Labels")
    labels.locator("summary").click()
    boxes = labels.get_by_role("checkbox")
    boxes.nth(0).check()
    expect(labels.locator("summary")).to_have_text(re.compile(r"Labels\s*1$"))
    boxes.nth(1).check()
    expect(labels.locator("summary")).to_have_text(re.compile(r"Labels\s*2$"))
    expect(page).to_have_url(re.compile(r"label=.*label="))  # the filter applied
    page.reload()
    expect(labels.locator("summary")).to_have_text(re.compile(r"Labels\s*2$"))  # the server counts the same


def test_column_counts_follow_the_search(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Buy milk", "Buy bread", "Call the plumber"])
    page.get_by_role("searchbox", name="Search cards").fill("buy")
    expect(column(page, "To do").locator(".count")).to_have_text("2 of 3")
    page.get_by_role("searchbox", name="Search cards").fill("")
    expect(column(page, "To do").locator(".count")).to_have_text("3")


def test_a_phone_shows_one_column_at_a_time_and_jumps_between_them(board_page: Page):
    page = board_page
    add_column(page, "Review")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    jump = page.get_by_role("navigation", name="Jump to column")
    expect(jump.get_by_role("link")).to_have_text(["To do", "Doing", "Done", "Review"])
    expect(jump.get_by_role("link", name="To do")).to_have_attribute("aria-current", "true")
    expect(column(page, "To do")).to_be_in_viewport(ratio=0.9)
    expect(column(page, "Doing")).not_to_be_in_viewport(ratio=0.5)

    jump.get_by_role("link", name="Done").click()
    expect(column(page, "Done")).to_be_in_viewport(ratio=0.9)
    expect(jump.get_by_role("link", name="Done")).to_have_attribute("aria-current", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_skip_link_is_the_first_stop_and_skips_to_the_content(board_page: Page):
    page = board_page
    page.reload()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("Boolean(document.activeElement.closest('#main'))"), "the next stop is in the content"


def test_a_card_face_opens_from_anywhere_on_it(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Open me from the side"])
    face = card(page, "Open me from the side")
    box = face.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 40, box["y"] + box["height"] - 4)  # not on the title
    expect(page.get_by_role("dialog").get_by_role("heading", name="Open me from the side")).to_be_visible()
