from playwright.sync_api import expect
from .actions import *

def test_explore(board_page, no_errors):
    page = board_page
    page.get_by_label("Column name").fill("Review")
    page.get_by_role("button", name="Add column").click()
    page.wait_for_timeout(500)
    print("errors:", no_errors)
    print("visible before reload:", column(page, "Review").count())
    print("form value:", page.get_by_label("Column name").input_value())
    page.reload()
    print("visible after reload:", column(page, "Review").count())
    no_errors.clear()
