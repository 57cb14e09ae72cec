"""Rich cards in a browser: labels, checklist, Markdown description, dates and comments."""
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from .actions import add_cards, card, create_board, open_add_card, settled, sign_up


def open_card(page: Page, title: str):
    page.get_by_role("link", name=title, exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=title)).to_be_visible()
    return dialog


def test_labels_and_checklist_show_on_the_card_face(board_page: Page):
    page = board_page
    board_path = re.sub(r"^https?://[^/]+", "", page.url)
    add_cards(page, "To do", ["Fix the login loop"])

    dialog = open_card(page, "Fix the login loop")
    dialog.get_by_role("link", name="Manage labels").click()
    expect(page.get_by_role("heading", name="Labels", level=1)).to_be_visible()
    page.wait_for_load_state()
    page.get_by_label("New label").fill("Bug")
    page.locator("#add-label").get_by_role("radio", name="Red").check()
    page.get_by_role("button", name="Add label").click()
    expect(page.get_by_label("Name of Bug")).to_have_value("Bug")
    expect(page.get_by_label("New label")).to_be_focused()

    page.goto(board_path)
    page.wait_for_load_state()
    dialog = open_card(page, "Fix the login loop")
    dialog.get_by_role("checkbox", name="Bug").check()
    face = card(page, "Fix the login loop")
    expect(face.locator(".label-red")).to_have_text("Bug")
    expect(dialog.get_by_role("checkbox", name="Bug")).to_be_checked()

    new_item = dialog.get_by_label("Checklist item")
    new_item.fill("Reproduce on Safari")
    new_item.press("Enter")
    expect(dialog.get_by_role("checkbox", name="Reproduce on Safari")).to_be_visible()
    expect(new_item).to_be_focused()
    settled(page)  # the fresh form gets its htmx behaviour as it settles
    page.keyboard.type("Write the fix")
    page.keyboard.press("Enter")
    expect(face.get_by_title("Checklist")).to_have_text("0/2")
    dialog.get_by_role("checkbox", name="Reproduce on Safari").check()
    expect(face.get_by_title("Checklist")).to_have_text("1/2")
    expect(dialog.get_by_role("heading", name="Checklist 1/2")).to_be_visible()

    page.keyboard.press("Escape")
    page.reload()
    expect(card(page, "Fix the login loop").locator(".label-red")).to_have_text("Bug")
    expect(card(page, "Fix the login loop").get_by_title("Checklist")).to_have_text("1/2")


def test_description_dates_and_comments(board_page: Page):
    page = board_page
    add_cards(page, "Doing", ["Write the release notes"])
    dialog = open_card(page, "Write the release notes")

    dialog.get_by_label("Description").fill("Cover **every** change.\n\n- [Changelog](https://example.com/log)")
    dialog.get_by_label("Due date").fill((date.today() - timedelta(days=1)).isoformat())
    dialog.get_by_role("button", name="Save").click()
    description = dialog.locator(".description")
    expect(description.locator("strong")).to_have_text("every")
    link = description.get_by_role("link", name="Changelog")
    expect(link).to_have_attribute("href", "https://example.com/log")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(dialog.get_by_label("Description")).to_be_hidden()  # the source waits behind "Edit card"
    expect(card(page, "Write the release notes").locator("time.due")).to_contain_text("overdue")

    dialog.get_by_text("Edit card").click()
    expect(dialog.get_by_label("Description")).to_be_visible()

    box = dialog.get_by_label("Add a comment")
    box.fill("Draft is in the **shared** folder")
    dialog.get_by_role("button", name="Comment", exact=True).click()
    comment = dialog.locator("article.comment")
    expect(comment.locator("strong", has_text="shared")).to_be_visible()
    expect(comment).to_contain_text("just now")
    expect(card(page, "Write the release notes").get_by_title("Comments")).to_have_text("1")

    comment.get_by_role("link", name="Edit comment").click()
    dialog.get_by_label("Your comment").fill("Final draft is in the shared folder")
    dialog.get_by_role("button", name="Update comment").click()
    expect(dialog.locator("article.comment")).to_contain_text("Final draft")
    expect(dialog.locator("article.comment")).to_contain_text("edited")

    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Delete comment").click()
    expect(dialog.locator("article.comment")).to_have_count(0)
    expect(card(page, "Write the release notes").get_by_title("Comments")).to_have_count(0)


def test_refused_dates_say_why_in_place(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Plan the offsite"])
    dialog = open_card(page, "Plan the offsite")
    dialog.get_by_label("Start date").fill("2030-05-10")
    dialog.get_by_label("Due date").fill("2030-05-01")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("The due date can't be before the start date.")).to_be_visible()
    expect(dialog.get_by_label("Due date")).to_be_focused()


@pytest.fixture
def nojs_page(new_context) -> Page:
    return new_context(java_script_enabled=False).new_page()


def test_labels_and_checklist_without_javascript(nojs_page: Page, account):
    page = nojs_page
    sign_up(page, account)
    board_path = create_board(page, "Garden")
    todo = page.get_by_role("region", name="To do", exact=True)
    open_add_card(page, "To do").fill("Prune the roses")
    todo.get_by_role("button", name="Add card").click()

    page.goto(f"{board_path}/labels")
    page.get_by_label("New label").fill("Weekend")
    page.locator("#add-label").get_by_role("radio", name="Green").check()
    page.get_by_role("button", name="Add label").click()
    expect(page.get_by_label("Name of Weekend")).to_have_value("Weekend")

    page.get_by_role("link", name="Garden").click()
    page.get_by_role("link", name="Prune the roses", exact=True).click()
    page.get_by_role("checkbox", name="Weekend").check()
    page.get_by_role("button", name="Apply labels").click()
    expect(page.get_by_role("checkbox", name="Weekend")).to_be_checked()

    page.get_by_label("Checklist item").fill("Sharpen the shears")
    page.get_by_role("button", name="Add item").click()
    page.get_by_role("checkbox", name="Sharpen the shears").check()
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_role("checkbox", name="Sharpen the shears")).to_be_checked()
    expect(page.get_by_role("heading", name="Checklist 1/1")).to_be_visible()

    page.get_by_role("link", name="Garden").click()
    face = card(page, "Prune the roses")
    expect(face.locator(".label-green")).to_have_text("Weekend")
    expect(face.get_by_title("Checklist")).to_have_text("1/1")
