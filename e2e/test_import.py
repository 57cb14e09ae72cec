"""Importing a Trello board in the browser: the progress bar while it is written, the summary,
then the board; and the same without JavaScript, where the page reloads itself until it is done."""
import json
import re

from playwright.sync_api import Page, expect

from tests.fixtures.trello import big_board, full_board

from .actions import sign_up


def choose_trello_file(page: Page, data: dict, name: str) -> None:
    page.get_by_label("Trello JSON").check()
    page.get_by_label("File").set_input_files({"name": name, "mimeType": "application/json",
                                                "buffer": json.dumps(data).encode()})
    page.get_by_role("button", name="Import").click()


def test_a_big_trello_board_imports_with_a_progress_bar(signed_up_page: Page):
    page = signed_up_page
    page.get_by_role("link", name="Import a board").click()
    expect(page.get_by_role("heading", name="Import a board")).to_be_visible()
    choose_trello_file(page, big_board(2000), "big.json")
    expect(page).to_have_url(re.compile(r"/boards/import/jobs/[\w-]{22}$"))
    expect(page.get_by_role("progressbar", name="Cards imported")).to_be_visible()

    expect(page.get_by_role("heading", name=re.compile(r"is ready$"))).to_be_visible(timeout=30_000)
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^Imported 8 columns, 2,000 cards"))).to_be_visible()
    page.get_by_role("button", name="Open the board").click()
    expect(page.locator("li.card")).to_have_count(2000)


def test_an_import_without_javascript_reloads_until_done(new_context, account):
    page = new_context(java_script_enabled=False).new_page()
    sign_up(page, account)
    page.goto("/boards/import")
    choose_trello_file(page, full_board().data, "board.json")
    expect(page.get_by_role("heading", name="Website relaunch 🚀 is ready")).to_be_visible()
    expect(page.get_by_text("Imported 4 columns, 8 cards, 6 labels, 5 checklist items, 4 comments.")).to_be_visible()
    page.get_by_role("button", name="Open the board").click()
    expect(page.get_by_role("link", name="Write the launch post ✍️")).to_be_visible()


def test_a_bad_file_is_refused_on_the_form(signed_up_page: Page):
    page = signed_up_page
    page.goto("/boards/import")
    choose_trello_file(page, {"name": "No lists", "lists": "nope"}, "broken.json")
    expect(page.get_by_role("alert")).to_contain_text("broken.json: key lists")
    expect(page).to_have_url(re.compile(r"/boards/import$"))
