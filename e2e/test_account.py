"""The account page in a browser: where you are logged in, and "Log out everywhere" really
logging out the other browser; a weak password refused with zxcvbn's reason at sign-up."""
import re

from playwright.sync_api import Browser, expect

from .actions import log_in, log_out, open_user_menu, sign_up
from .conftest import VIEWPORT


def test_log_out_everywhere_logs_out_the_other_browser_too(browser: Browser, base_url, page, account):
    sign_up(page, account)
    other = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-GB").new_page()
    other.goto("/login")
    other.get_by_label("Email").fill(account.email)
    other.get_by_label("Password").fill(account.password)
    other.get_by_label("Remember me").check()
    other.get_by_role("button", name="Log in").click()
    expect(other.get_by_role("heading", name="My boards")).to_be_visible()

    open_user_menu(page)
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    sessions = page.get_by_role("list", name="Active sessions").get_by_role("listitem")
    expect(sessions).to_have_count(2)
    expect(sessions.filter(has_text="this browser")).to_have_count(1)

    page.get_by_role("button", name="Log out everywhere").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_text("You are logged out everywhere (2 sessions).")).to_be_visible()

    other.goto("/boards/")  # the remembered browser too
    expect(other.get_by_role("heading", name="Log in")).to_be_visible()
    expect(other).to_have_url(re.compile(r"/login\?next="))
    other.context.close()
    log_in(page, account)  # the password still works


def test_a_weak_password_is_refused_with_the_reason(page, account):
    page.goto("/signup")
    page.get_by_label("Name").fill(account.name)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password", exact=True).fill("password1")
    page.get_by_label("Repeat password").fill("password1")
    page.get_by_role("button", name="Sign up").click()
    field = page.get_by_role("textbox", name=re.compile(r"^Password"))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(r"^This password is too easy to guess\. This is a very "
                                                            r"common password\."))
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()  # nothing was sent


def test_a_wrong_password_keeps_the_fields_name_and_describes_it(page, account):
    """The error is the field's description, not part of its name: a screen reader says
    "Password, invalid entry, That email and password don't match an account"."""
    sign_up(page, account)
    log_out(page)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password", exact=True).fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile("don't match an account"))
