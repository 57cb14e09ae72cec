"""Invite by email, in a browser: the owner invites, the email arrives over SMTP, a new person
signs up through its link and lands on the board.

This module runs its own Hypercorn, its mail going to an SMTP server the test reads (as the
shared e2e server's does); everything else is as `make run`.
"""
import os
import re
import secrets
import time
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from .actions import Account, create_board, new_account, sign_up
from .conftest import CHROMIUM, VIEWPORT, Inbox, LiveServer, serve

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's Chromium")


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A Hypercorn whose mail goes to its own inbox over SMTP, on its own migrated database."""
    with serve(tmp_path_factory.mktemp("corkboard-invite")) as server:
        yield server


@pytest.fixture(scope="module")
def inbox(mail_server) -> Inbox:
    return mail_server.inbox


def page_on(browser: Browser, server: LiveServer, errors: list) -> Page:
    context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(5_000)
    context.on("weberror", lambda error: errors.append(f"{error.page.url if error.page else ''}: {error.error}"))
    return context.new_page()


def invitation_path(inbox: Inbox, address: str) -> str:
    link = re.search(r"https?://\S+/invitation\?token=\S+", inbox.last_body(address)).group(0)
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def wait_for_mail(inbox: Inbox, address: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not inbox.to(address):
        assert time.monotonic() < deadline, f"no email to {address} arrived"
        time.sleep(0.05)


def test_owner_invites_and_a_new_person_joins_through_the_email(browser: Browser, mail_server, inbox):
    errors: list[str] = []
    log_start = mail_server.log_size()
    owner = page_on(browser, mail_server, errors)
    sign_up(owner, new_account("Ada Lovelace"))
    board_path = create_board(owner, "Team plans")

    # The owner opens the members page from the board and invites Grace as an editor.
    owner.get_by_role("link", name="Members", exact=True).click()
    expect(owner.get_by_role("heading", name="Members of “Team plans”")).to_be_visible()
    guest = Account(name="Grace Hopper", email=f"grace-{secrets.token_hex(4)}@example.com", password="cobol-1959")
    owner.get_by_label("Email", exact=True).fill(guest.email)
    owner.locator("#invite-form").get_by_label("Role").select_option("editor")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.get_by_role("status")).to_have_text(f"Invitation sent to {guest.email}.")
    pending = owner.locator("#invitations")
    expect(pending.get_by_role("listitem")).to_have_count(1)
    expect(pending).to_contain_text(f"{guest.email} as editor")
    expect(owner.get_by_label("Email", exact=True)).to_have_value("")

    # The email arrives by SMTP; Grace, who has no account, follows its link.
    wait_for_mail(inbox, guest.email)
    newcomer = page_on(browser, mail_server, errors)
    newcomer.goto(invitation_path(inbox, guest.email))
    expect(newcomer.get_by_role("heading", name="Log in")).to_be_visible()
    expect(newcomer.get_by_text("You are invited to the board “Team plans”.")).to_be_visible()
    newcomer.get_by_role("link", name="Create an account").click()
    expect(newcomer.get_by_text("Create your account to join “Team plans” as editor.")).to_be_visible()
    expect(newcomer.get_by_label("Email")).to_have_value(guest.email)
    newcomer.get_by_label("Name").fill(guest.name)
    newcomer.get_by_label("Password", exact=True).fill(guest.password)
    newcomer.get_by_label("Repeat password").fill(guest.password)
    newcomer.get_by_role("button", name="Sign up").click()

    # She lands on the board, a member.
    expect(newcomer.get_by_role("heading", name="Team plans", level=1)).to_be_visible()
    expect(newcomer).to_have_url(re.compile(re.escape(board_path) + "$"))
    expect(newcomer.get_by_text("You joined “Team plans” as editor.")).to_be_visible()

    # The owner sees her among the members and makes her a viewer (HTMX swaps the list).
    members_path = f"{board_path}/members"
    owner.goto(members_path)
    expect(owner.locator("#invitations")).to_contain_text("No pending invitations.")
    role = owner.get_by_label(f"Role of {guest.name}")
    expect(role).to_have_value("editor")
    with owner.expect_response(lambda response: response.request.method == "PATCH" and "/members/" in response.url):
        role.select_option("viewer")  # sent at once; a page left before the answer would cancel it
    expect(owner.get_by_label(f"Role of {guest.name}")).to_have_value("viewer")
    owner.goto(members_path)
    expect(owner.get_by_label(f"Role of {guest.name}")).to_have_value("viewer")

    # The link is used up.
    again = newcomer.goto(invitation_path(inbox, guest.email))
    assert again.status == 410
    expect(newcomer.get_by_text("This invitation has already been used.")).to_be_visible()

    assert not errors, f"JavaScript errors in the page: {errors}"
    server_log = mail_server.log_since(log_start)
    assert "Traceback" not in server_log, server_log
