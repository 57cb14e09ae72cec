"""Comments in the browser: @mention suggestions from the keyboard, comments that keep to their box on
a phone, an open card that follows other people's changes, and archiving or deleting without errors."""
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from webapp import create_app
from webapp.extensions import db
from webapp.models import BoardMember, User

from .actions import add_cards, card_titles, create_board, new_account, open_card, settled, sign_up
from .conftest import _console_error


def add_member(live_server, board_path: str, name: str, email: str, role: str = "editor") -> None:
    """A new account on the board (the UI does this through an emailed invitation: see test_invite.py)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": live_server.database_url, "SECRET_KEY": "arranging", "TESTING": True})
    with app.app_context():
        user = User(name=name, email=email)
        user.set_password("analytical-engine")
        db.session.add(user)
        db.session.flush()
        db.session.add(BoardMember(board_id=int(board_path.rsplit("/", 1)[1]), user_id=user.id, role=role))
        db.session.commit()
        db.engine.dispose()


def watched(context, page_errors: list[str]):
    """A browser context of the test's own, whose page and console errors fail the test too."""
    context.on("weberror", lambda error: page_errors.append(str(error.error)))
    context.on("console", lambda message: _console_error(message, page_errors))
    return context


def wait_until_live(page: Page) -> None:
    expect(page.get_by_role("list", name="Viewing now").get_by_role("listitem")).not_to_have_count(0)


def test_a_mention_is_picked_from_the_keyboard_and_shows_highlighted(board_page: Page, live_server):
    page = board_page
    board_path = re.sub(r"^https?://[^/]+", "", page.url)
    tag = new_account().email.split("@")[0]
    add_member(live_server, board_path, "Grace Hopper", f"grace-{tag}@example.com")
    add_member(live_server, board_path, "Grady Booch", f"grady-{tag}@example.com")
    add_cards(page, "To do", ["Review the compiler"])
    dialog = open_card(page, "Review the compiler")

    box = dialog.get_by_role("combobox", name="Add a comment")
    box.click()
    box.press_sequentially("Over to @gra")
    suggestions = dialog.get_by_role("listbox", name="Members to mention")
    expect(suggestions).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = suggestions.get_by_role("option")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("Grace Hopper")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))

    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    box.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")

    # Escape closes the list, not the dialog; typing on opens it again.
    box.press("Escape")
    expect(suggestions).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(dialog).to_be_visible()
    box.press_sequentially("c")
    expect(options).to_have_count(1)
    box.press("Enter")  # picks Grace, does not add a new line
    expect(suggestions).to_be_hidden()
    expect(box).to_have_value("Over to @GraceHopper ")
    expect(box).to_be_focused()

    box.press_sequentially("and @gra")
    expect(options).to_have_count(2)
    box.press("ArrowDown")
    box.press("Tab")  # picks too, and the focus stays in the box
    expect(box).to_have_value("Over to @GraceHopper and @GradyBooch ")
    expect(box).to_be_focused()

    box.press_sequentially("for the review")
    dialog.get_by_role("button", name="Comment", exact=True).click()
    comment = dialog.get_by_role("article", name="Comment by Ada Lovelace")
    expect(comment.locator(".mention")).to_have_text(["@GraceHopper", "@GradyBooch"])
    expect(comment).to_contain_text("Over to @GraceHopper and @GradyBooch for the review")


def test_a_click_on_a_suggestion_writes_the_mention(board_page: Page, live_server):
    page = board_page
    board_path = re.sub(r"^https?://[^/]+", "", page.url)
    add_member(live_server, board_path, "Katherine Johnson", f"kj-{new_account().email.split('@')[0]}@example.com")
    add_cards(page, "To do", ["Check the trajectory"])
    dialog = open_card(page, "Check the trajectory")
    box = dialog.get_by_role("combobox", name="Add a comment")
    box.fill("Thanks @")
    box.press_sequentially("Kat")
    dialog.get_by_role("option", name=re.compile("Katherine Johnson")).click()
    expect(box).to_have_value("Thanks @KatherineJohnson ")
    expect(dialog.get_by_role("listbox", name="Members to mention")).to_be_hidden()


def test_long_names_words_and_links_stay_inside_the_comment_on_a_phone(browser: Browser, browser_context_args, page_errors):
    context = watched(browser.new_context(**{**browser_context_args, "viewport": {"width": 390, "height": 844}}),
                      page_errors)
    page = context.new_page()
    account = new_account("Maximiliana" * 6)  # one unbroken 66-letter name
    sign_up(page, account)
    create_board(page, "Phone")
    add_cards(page, "To do", ["Long words"])
    dialog = open_card(page, "Long words")
    box = dialog.get_by_role("combobox", name="Add a comment")
    box.fill("Supercalifragilisticexpialidocious" * 4 + " https://example.com/" + "a-very-long-path/" * 8)
    dialog.get_by_role("button", name="Comment", exact=True).click()
    comment = dialog.get_by_role("article", name=re.compile("^Comment by Maximiliana"))
    expect(comment).to_be_visible()
    settled(page)

    outer = comment.bounding_box()
    assert outer["x"] >= 0 and outer["x"] + outer["width"] <= 390 + 0.5, f"the comment sticks out of the screen: {outer}"
    for part in (comment.locator("header"), comment.locator(".comment-bubble"), comment.locator("footer"),
                 comment.get_by_role("link"), comment.locator(".comment-author")):
        for index in range(part.count()):
            box_ = part.nth(index).bounding_box()
            assert box_["x"] >= outer["x"] - 0.5 and box_["x"] + box_["width"] <= outer["x"] + outer["width"] + 0.5, \
                f"a part of the comment sticks out past its edge: {box_} in {outer}"
    # Nothing in the comment is wider than what shows of it.
    overflowing = comment.evaluate("""(root) => [root, ...root.querySelectorAll('*')]
        .filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible')
        .map((el) => el.className || el.tagName)""")
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


@pytest.fixture
def two_editors(browser: Browser, browser_context_args, live_server, page_errors):
    """Ada (owner) and Grace (editor), each in a browser of their own, both on Ada's board."""
    contexts = [watched(browser.new_context(**browser_context_args), page_errors) for _ in range(2)]
    ada, grace = (context.new_page() for context in contexts)
    ada_account, grace_account = new_account("Ada Lovelace"), new_account("Grace Hopper")
    sign_up(ada, ada_account)
    board_path = create_board(ada, "Launch")
    add_cards(ada, "To do", ["Write the press release", "Book the venue"])
    add_member(live_server, board_path, grace_account.name, grace_account.email)
    grace.goto("/login")
    grace.get_by_label("Email").fill(grace_account.email)
    grace.get_by_label("Password").fill("analytical-engine")
    grace.get_by_role("button", name="Log in").click()
    expect(grace.get_by_role("heading", name="My boards")).to_be_visible()
    grace.goto(board_path)
    grace.wait_for_load_state()
    settled(grace)
    wait_until_live(ada)
    wait_until_live(grace)
    yield ada, grace
    for context in contexts:
        context.close()


def test_the_open_card_shows_other_peoples_comments_and_renames_and_keeps_what_you_type(two_editors, page_errors):
    ada, grace = two_editors
    grace_dialog = open_card(grace, "Write the press release")
    # Grace starts on the description (not saved yet), then on a comment.
    grace_description = grace_dialog.get_by_role("textbox", name="Description")
    if not grace_description.is_visible():
        grace_dialog.get_by_text("Edit card").click()
    grace_description.fill("Embargoed until Monday")
    grace_box = grace_dialog.get_by_role("combobox", name="Add a comment")
    grace_box.click()
    grace_box.press_sequentially("Half a thou")

    ada_dialog = open_card(ada, "Write the press release")
    ada_dialog.get_by_role("combobox", name="Add a comment").fill("First draft is in the shared folder")
    ada_dialog.get_by_role("button", name="Comment", exact=True).click()
    expect(grace_dialog.get_by_role("article", name="Comment by Ada Lovelace")).to_contain_text(
        "First draft is in the shared folder")
    expect(grace_box).to_have_value("Half a thou")
    expect(grace_box).to_be_focused()

    ada_dialog.get_by_label("Title").fill("Write and send the press release")
    ada_dialog.get_by_role("button", name="Save").click()
    expect(ada_dialog.get_by_role("heading", name="Write and send the press release")).to_be_visible()
    expect(grace_dialog.get_by_role("heading", name="Write and send the press release")).to_be_visible()
    expect(grace_box).to_have_value("Half a thou")
    expect(grace_box).to_be_focused()
    grace_box.press_sequentially("ght")  # the caret is where it was
    expect(grace_box).to_have_value("Half a thought")
    expect(grace_description).to_be_visible()
    expect(grace_description).to_have_value("Embargoed until Monday")
    # Ada's own dialog was updated by her answers; it shows her comment once.
    expect(ada_dialog.get_by_role("article", name="Comment by Ada Lovelace")).to_have_count(1)
    assert page_errors == []


def test_archiving_and_deleting_a_card_log_no_error_for_anyone(two_editors, page_errors):
    ada, grace = two_editors
    every_error = []  # even a failed request's own message: none is expected here
    for page in (ada, grace):
        page.on("console", lambda message: message.type == "error" and every_error.append(message.text))
    dialog = open_card(ada, "Write the press release")
    grace_dialog = open_card(grace, "Book the venue")
    dialog.get_by_role("button", name="Archive card").click()
    expect(dialog).to_be_hidden()
    expect(card_titles(grace, "To do")).to_have_text(["Book the venue"])
    expect(card_titles(ada, "To do")).to_have_text(["Book the venue"])

    ada.on("dialog", lambda confirm: confirm.accept())
    dialog = open_card(ada, "Book the venue")
    dialog.get_by_role("button", name="Delete card").click()
    expect(dialog).to_be_hidden()
    expect(card_titles(grace, "To do")).to_have_count(0)
    expect(card_titles(ada, "To do")).to_have_count(0)
    # Grace had that card open: her dialog says it is gone, instead of offering to edit it.
    expect(grace_dialog.get_by_role("status")).to_have_text("This card has just been deleted.")
    ada.wait_for_timeout(300)  # the live update reaches the author after her own answer, or before
    assert page_errors == [] and every_error == []
