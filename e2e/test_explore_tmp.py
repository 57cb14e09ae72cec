from playwright.sync_api import expect
from .actions import *

def test_explore(board_page, no_errors):
    page = board_page
    add_cards(page, "To do", ["Draft the release notes"])
    page.get_by_role("link", name="Draft the release notes", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Draft the release notes")).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/s2.png")
    print(dialog.bounding_box(), dialog.get_by_role("button", name="Close").bounding_box())
    print(page.evaluate("() => [document.scrollingElement.scrollHeight, innerHeight, getComputedStyle(document.getElementById('card-dialog')).cssText.length]"))
    print(page.locator("#card-dialog").evaluate("d => { const s = getComputedStyle(d); return [s.position, s.display, s.width, s.height, s.overflow, s.alignItems, s.justifyContent]}"))
    print(page.locator("#card-dialog article").evaluate("d => { const s = getComputedStyle(d); return [s.position, s.display, s.width, s.height, s.overflow, s.maxHeight]}"))
