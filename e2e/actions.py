"""What a user does in Corkboard, as small helpers the browser tests share.

They find things the way a user (or a screen reader) does: by role, label and visible name.
"""
import itertools
import os
import re
import time
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, Response, expect

_serial = itertools.count(1)


@dataclass
class Account:
    name: str
    email: str
    password: str


def new_account(name: str = "Ada Lovelace") -> Account:
    """An account no other test uses (unique per test run and per xdist worker)."""
    tag = f"{os.getpid()}-{next(_serial)}"
    return Account(name=name, email=f"ada-{tag}@example.com", password="analytical-engine")


# The inbox each test server's mail arrives in, by the server's URL (e2e/conftest.py fills it):
# signing up is confirmed by an emailed link, which the helpers follow as a person would.
MAILBOXES: dict = {}


def sign_up(page: Page, account: Account) -> None:
    page.goto("/signup")
    page.get_by_label("Name").fill(account.name)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_label("Repeat password").fill(account.password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    page.goto(emailed_link(page, account.email, "/signup/confirm"))
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="My boards")).to_be_visible()
    page.wait_for_load_state()


def emailed_link(page: Page, address: str, path: str, timeout: float = 5) -> str:
    """The newest link to `path` mailed to `address` by the page's server (as a local path)."""
    inbox = MAILBOXES[re.match(r"^https?://[^/]+", page.url).group(0)]
    pattern = re.compile(r"https?://[^/\s]+(" + re.escape(path) + r"\?\S+)")
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(inbox.to(address)):
            match = pattern.search(message.get_body(("plain",)).get_content())
            if match:
                return match.group(1)
        assert time.monotonic() < deadline, f"no email to {address} with a link to {path} arrived"
        time.sleep(0.05)


def log_in(page: Page, account: Account) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My boards")).to_be_visible()
    page.wait_for_load_state()


def open_user_menu(page: Page) -> None:
    """The account menu in the top bar (Account, Theme, Log out)."""
    menu = page.locator("details.user-menu")
    if menu.get_attribute("open") is None:
        page.get_by_label(re.compile("^Account menu")).click()


def log_out(page: Page) -> None:
    open_user_menu(page)
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def create_board(page: Page, title: str) -> str:
    """Create a board from "My boards"; returns the board's path (e.g. /boards/3)."""
    page.goto("/boards/")
    page.get_by_label("New board").fill(title)
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    # The heading shows before the deferred scripts run; a form sent before htmx is ready
    # would be a plain post (which works, but is not what these tests are about).
    page.wait_for_load_state()
    return re.sub(r"^https?://[^/]+", "", page.url)


def column(page: Page, title: str) -> Locator:
    """A column of the board: a region named by its heading."""
    return page.get_by_role("region", name=title, exact=True)


def cards_in(page: Page, column_title: str) -> Locator:
    """The cards of a column, in the order shown."""
    return page.get_by_role("list", name=f"Cards in {column_title}", exact=True).get_by_role("listitem")


def card_titles(page: Page, column_title: str) -> Locator:
    """The title link of each card in a column, in order: `expect(...).to_have_text([...])`."""
    return cards_in(page, column_title).locator("> a")


def card_count(page: Page, column_title: str) -> Locator:
    """The number shown in a column's header (titled "3 cards")."""
    return column(page, column_title).get_by_title(re.compile(r"^\d+ cards?\b"))


def card(page: Page, title: str) -> Locator:
    return page.get_by_role("listitem").filter(has=page.get_by_role("link", name=title, exact=True))


def column_titles(page: Page) -> Locator:
    return page.locator("#board-columns").get_by_role("heading", level=2)


def open_add_column(page: Page) -> Locator:
    """Open the quiet "Add a column" at the end of the lanes; returns its field."""
    field = page.get_by_label("Column name")
    if not field.is_visible():
        page.get_by_text("Add a column", exact=True).click()
    return field


def open_add_card(page: Page, column_title: str) -> Locator:
    """Open a column's quiet "Add a card"; returns its field (it stays open for the next card)."""
    lane = column(page, column_title)
    field = lane.get_by_label("Card title")
    if not field.is_visible():
        lane.get_by_text("Add a card", exact=True).click()
    return field


def add_column(page: Page, title: str) -> None:
    open_add_column(page).fill(title)
    page.get_by_role("button", name="Add column").click()
    expect(column(page, title)).to_be_visible()


def add_cards(page: Page, column_title: str, titles: list[str]) -> None:
    """Type each title into the column's inline form and press Enter. The form stays open,
    empty and focused, so the next title goes straight in (as a user adding a list would)."""
    field = open_add_card(page, column_title)
    field.click()
    for title in titles:
        page.keyboard.insert_text(title)  # into whatever has the focus, like typing (but faster)
        page.keyboard.press("Enter")
        expect(card_titles(page, column_title).last).to_have_text(title)
        expect(field).to_have_value("")
        expect(field).to_be_focused()
        settled(page)


def settled(page: Page) -> None:
    """Wait until htmx has swapped and set up what it brought in. New content gets its hx-*
    behaviour only when it settles (at once, but after the swap): a form sent before that is a plain post."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def open_card(page: Page, title: str) -> Locator:
    """Click a card's title: its detail opens in the dialog, which is returned."""
    page.get_by_role("link", name=title, exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=title)).to_be_visible()
    settled(page)
    return dialog


def is_move(response: Response) -> bool:
    return response.request.method == "PATCH" and response.url.endswith("/move")


SORTABLE_ANIMATION_MS = 150  # `animation` in static/app.js


def drag(page: Page, source: Locator, target: Locator, *, to: str = "center") -> None:
    """Drag like a person: press, move in small steps, rest on the target, release.

    SortableJS reacts to real pointer motion and ignores items that are still sliding
    (its animation), so the pointer moves in short hops with pauses and rests on the
    target until the list has settled. `to` is where on the target to let go: "top"
    (before it), "center" or "bottom" (after it; a card from another column goes after
    it when dropped on its lower half).
    """
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    end = target.bounding_box()
    assert start and end, "drag: the source or the target is not on screen"
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    x1 = end["x"] + end["width"] / 2
    y1 = end["y"] + end["height"] * {"top": 0.25, "center": 0.5, "bottom": 0.75}[to]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 5, y0 + 5, steps=3)
    hops = 8
    for hop in range(1, hops + 1):
        page.mouse.move(x0 + (x1 - x0) * hop / hops, y0 + (y1 - y0) * hop / hops, steps=3)
        page.wait_for_timeout(25)
    for wiggle in (1, -1, 0):  # rest on the target while the list settles
        page.wait_for_timeout(SORTABLE_ANIMATION_MS + 50)
        page.mouse.move(x1 + wiggle, y1, steps=2)
    # The list makes room as the card comes in, so the target may have slid away from under the
    # pointer with the gap on the wrong side of it: follow it, as a person watching the gap would.
    for _ in range(3):
        placed = target.evaluate("""(el, to) => {
            const gap = document.querySelector(".sortable-ghost");
            if (!gap || to === "center") return true;
            const after = el.compareDocumentPosition(gap) & Node.DOCUMENT_POSITION_FOLLOWING;
            return to === "bottom" ? Boolean(after) : !after;
        }""", to)
        if placed:
            break
        box = target.bounding_box()
        y1 = box["y"] + box["height"] * {"top": 0.25, "bottom": 0.75}[to]
        page.mouse.move(x1, y1, steps=3)
        page.wait_for_timeout(SORTABLE_ANIMATION_MS + 50)
    page.mouse.up()
