"""The Content-Security-Policy in a real browser: it is in force, and the page works within it."""
from playwright.sync_api import Page, expect

from .actions import add_cards, open_card


def test_the_policy_blocks_inline_script(board_page: Page, page_errors: list[str]):
    page = board_page
    blocked = page.evaluate("""() => new Promise(resolve => {
        document.addEventListener("securitypolicyviolation", e => resolve(e.violatedDirective), { once: true });
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.append(script);
        setTimeout(() => resolve(null), 2000);
    })""")
    assert blocked and blocked.startswith("script-src")
    assert page.evaluate("window.injected") is None
    # The violation was logged as a console error: the fixture catches exactly that; clear it here.
    assert any("Content Security Policy" in error for error in page_errors), page_errors
    page_errors.clear()


def test_an_error_is_dismissed_without_an_inline_handler(board_page: Page):
    page = board_page
    page.evaluate("htmx.ajax('GET', '/boards/999999999', {target: '#errors'})")
    error = page.get_by_role("alert").locator(".error-message")
    expect(error).to_contain_text("404")
    error.get_by_role("button", name="Dismiss").click()
    expect(error).to_have_count(0)


def test_an_image_in_a_description_is_never_fetched(board_page: Page):
    page = board_page
    fetched = []
    page.context.route("https://tracker.example/**", lambda route: (fetched.append(route.request.url), route.abort()))
    add_cards(page, "To do", ["Report"])
    dialog = open_card(page, "Report")
    dialog.get_by_label("Description").fill("The chart: ![sales](https://tracker.example/pixel.gif)")
    dialog.get_by_role("button", name="Save").click()
    link = dialog.locator(".description").get_by_role("link", name="🖼 sales")
    expect(link).to_have_attribute("href", "https://tracker.example/pixel.gif")
    expect(dialog.locator(".description img")).to_have_count(0)
    page.wait_for_timeout(300)
    assert fetched == []
