"""Two members of one board, each in their own browser: live changes, presence, reconnecting,
a viewer's read-only board; filters in the URL; hostile text rendered inert everywhere."""
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from webapp import create_app
from webapp.extensions import db
from webapp.models import BoardMember, User

from .actions import (add_cards, card, card_titles, column, column_titles, create_board, drag, is_move, new_account, open_add_column, open_card, settled, sign_up)


def make_member(live_server, board_path: str, email: str, role: str) -> None:
    """Put an account on a board (the UI does this through an emailed invitation: see test_invite.py)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": live_server.database_url, "SECRET_KEY": "arranging", "TESTING": True})
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == email))
        db.session.add(BoardMember(board_id=int(board_path.rsplit("/", 1)[1]), user_id=user_id, role=role))
        db.session.commit()
        db.engine.dispose()


def viewers(page: Page):
    return page.get_by_role("list", name="Viewing now").get_by_role("listitem")


@pytest.fixture
def two_members(browser: Browser, browser_context_args, live_server):
    """Ada (owner) and Grace (editor), each in a browser of their own, both on Ada's board."""
    ada_context = browser.new_context(**browser_context_args)
    grace_context = browser.new_context(**browser_context_args)
    ada, grace = ada_context.new_page(), grace_context.new_page()
    ada_account, grace_account = new_account("Ada Lovelace"), new_account("Grace Hopper")
    sign_up(ada, ada_account)
    sign_up(grace, grace_account)
    board_path = create_board(ada, "Launch")
    add_cards(ada, "To do", ["Write the press release", "Book the venue"])
    make_member(live_server, board_path, grace_account.email, "editor")
    grace.goto(board_path)
    settled(grace)
    yield ada, grace, grace_context, board_path
    ada_context.close()
    grace_context.close()


def test_two_members_see_each_others_changes_live(two_members):
    ada, grace, grace_context, board_path = two_members
    # Presence: both pages show both people.
    expect(viewers(ada)).to_have_count(2)
    expect(viewers(grace)).to_have_count(2)
    expect(grace.get_by_role("list", name="Viewing now").get_by_title("Ada Lovelace")).to_have_text("AL")
    expect(ada.get_by_role("list", name="Viewing now").get_by_title("Grace Hopper")).to_have_text("GH")

    # Ada drags a card; Grace sees it in its new place without reloading.
    with ada.expect_response(is_move):
        drag(ada, card(ada, "Book the venue"), column(ada, "Done").get_by_role("list"))
    expect(card_titles(grace, "Done")).to_have_text(["Book the venue"])
    expect(card_titles(grace, "To do")).to_have_text(["Write the press release"])

    # Ada renames a column; Grace sees the new name.
    ada.get_by_role("link", name="Doing").click()
    field = ada.locator("form.inline-edit").get_by_role("textbox")
    field.fill("In progress")
    field.press("Enter")
    expect(column_titles(grace)).to_have_text(["To do", "In progress", "Done"])

    # Grace drops off the network; Ada makes three changes; back online, Grace has all three.
    # (Chromium's offline mode spares a stream already open: drop it as a lost network would.)
    grace_context.set_offline(True)
    grace.evaluate("""() => {
        const source = document.getElementById("live").liveSource;
        source.close();
        source.onerror(new Event("error"));
    }""")
    expect(grace.get_by_text("Reconnecting…")).to_be_visible()
    add_cards(ada, "To do", ["Order the banners", "Print the flyers"])
    ada.get_by_role("link", name="Done").click()
    field = ada.locator("form.inline-edit").get_by_role("textbox")
    field.fill("Shipped")
    field.press("Enter")
    expect(column_titles(ada)).to_have_text(["To do", "In progress", "Shipped"])
    grace_context.set_offline(False)
    expect(card_titles(grace, "To do")).to_have_text(
        ["Write the press release", "Order the banners", "Print the flyers"], timeout=15_000)
    expect(column_titles(grace)).to_have_text(["To do", "In progress", "Shipped"])
    expect(grace.get_by_text("Reconnecting…")).to_be_hidden()

    # Grace's change reaches Ada too; and when Grace leaves, Ada sees her go.
    add_cards(grace, "In progress", ["Brief the speakers"])
    expect(card_titles(ada, "In progress")).to_have_text(["Brief the speakers"])
    grace.goto("/boards/")
    expect(viewers(ada)).to_have_count(1)


def test_a_viewer_sees_a_read_only_board(browser: Browser, browser_context_args, board_page: Page, live_server):
    owner = board_page
    board_path = re.sub(r"^https?://[^/]+", "", owner.url)
    add_cards(owner, "To do", ["Draft the agenda"])
    context = browser.new_context(**browser_context_args)
    viewer = context.new_page()
    account = new_account("Vera Viewer")
    sign_up(viewer, account)
    make_member(live_server, board_path, account.email, "viewer")
    viewer.goto(board_path)
    settled(viewer)
    expect(card_titles(viewer, "To do")).to_have_text(["Draft the agenda"])
    for name in ("Add card", "Add column"):
        expect(viewer.get_by_role("button", name=name).first).to_be_hidden()
    expect(viewer.get_by_label("Move Draft the agenda")).to_be_hidden()
    expect(viewer.get_by_role("link", name="Rename board")).to_have_count(0)
    dialog = open_card(viewer, "Draft the agenda")
    expect(dialog.get_by_role("button", name="Save")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Delete card")).to_have_count(0)
    context.close()


def test_filters_live_in_the_url_and_the_back_button_restores_them(board_page: Page):
    page = board_page
    board_path = re.sub(r"^https?://[^/]+", "", page.url)
    add_cards(page, "To do", ["Fix the login loop", "Update the docs"])
    page.goto(f"{board_path}/labels")
    page.get_by_label("New label").fill("Bug")
    page.get_by_role("button", name="Add label").click()
    expect(page.get_by_label("Name of Bug")).to_have_value("Bug")
    page.goto(board_path)
    settled(page)
    dialog = open_card(page, "Fix the login loop")
    dialog.get_by_role("checkbox", name="Bug").check()
    expect(card(page, "Fix the login loop").get_by_text("Bug")).to_be_visible()
    page.keyboard.press("Escape")

    page.locator("#board-filters").get_by_text("Labels", exact=True).click()
    page.get_by_role("checkbox", name="Bug").check()
    expect(page).to_have_url(re.compile(r"label=\d+"))
    expect(card_titles(page, "To do")).to_have_text(["Fix the login loop"])
    page.get_by_label("Due date").select_option("none")
    expect(page).to_have_url(re.compile(r"label=\d+.*due=none"))
    expect(card_titles(page, "To do")).to_have_text(["Fix the login loop"])
    page.get_by_label("Search cards").fill("docs")
    expect(card_titles(page, "To do")).to_have_count(0)

    page.go_back()
    expect(page).to_have_url(re.compile(r"label=\d+.*due=none$"))
    expect(card_titles(page, "To do")).to_have_text(["Fix the login loop"])
    expect(page.get_by_label("Search cards")).to_have_value("")
    page.go_back()
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(board_path) + "$"))
    expect(card_titles(page, "To do")).to_have_text(["Fix the login loop", "Update the docs"])
    expect(page.get_by_role("checkbox", name="Bug")).not_to_be_checked()


PAYLOAD = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>'


def test_hostile_text_stays_text_on_every_page(browser: Browser, browser_context_args):
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    account = new_account("Mallory " + PAYLOAD)
    sign_up(page, account)
    board_path = create_board(page, "Board " + PAYLOAD)
    open_add_column(page).fill("Column " + PAYLOAD)
    page.get_by_role("button", name="Add column").click()
    settled(page)
    add_cards(page, "To do", ["Card " + PAYLOAD])
    dialog = open_card(page, "Card " + PAYLOAD)
    description = dialog.get_by_label("Description")
    description.fill(f"Text {PAYLOAD} [a link](javascript:alert(3)) <a href=\"javascript:alert(4)\">x</a>")
    dialog.get_by_role("button", name="Save").click()
    settled(page)
    dialog.get_by_label("Add a comment").fill("Comment " + PAYLOAD)
    dialog.get_by_role("button", name="Comment", exact=True).click()
    settled(page)
    dialog.get_by_label("Attach files").set_input_files(
        [{"name": "report<img src=x onerror=alert(5)>.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    dialog.get_by_role("button", name="Upload").click()
    settled(page)
    page.goto(f"{board_path}/labels")
    page.get_by_label("New label").fill("L" + PAYLOAD[:40])
    page.get_by_role("button", name="Add label").click()
    settled(page)

    page.goto(board_path)
    settled(page)
    card_href = page.get_by_role("link", name="Card " + PAYLOAD, exact=True).get_attribute("href")
    for path in (board_path, card_href, f"{board_path}/activity", f"{board_path}/labels",
                 f"{board_path}/members", f"{board_path}/archive", "/boards/", "/my-cards"):
        page.goto(path)
        settled(page)
        page.wait_for_timeout(200)
        assert page.evaluate("window.__xss") is None, f"script ran on {path}"
    page.goto(board_path)
    settled(page)
    open_card(page, "Card " + PAYLOAD)
    page.wait_for_timeout(300)
    for link in page.locator("#card-detail a[href^='javascript']").all():
        raise AssertionError(f"a javascript: link survived: {link.get_attribute('href')}")
    assert page.evaluate("window.__xss") is None
    assert dialogs == [], f"dialogs opened: {dialogs}"
    expect(page.get_by_role("heading", name="Card " + PAYLOAD)).to_be_visible()
    context.close()
