"""axe-core on every page and dialog state a person meets: 0 serious or critical violations.

One board in use (labels, people, dates, checklists, comments, an archived card) is arranged once
for the module; each state below is its own test, so a failure names the state, and its message
lists each rule, its impact, the elements (selectors) and axe's help, enough to fix it from.
test_layout.py tours the same states.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from .actions import Account, add_cards, create_board, new_account, open_card, open_user_menu, settled, sign_up
from .axe import assert_no_serious_violations
from .test_teams import make_member

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
BOARD = "Website relaunch"
CARD = "Design the new landing page"  # the card opened in the dialog and on its own page
CARDS = {
    "To do": ["Translate the FAQ into German", "Book the venue for the launch party", "Update the privacy policy"],
    "Doing": [CARD, "Write the launch announcement", "Fix the login redirect"],
    "Done": ["Set up the project board", "Invite the team", "Review pull requests", "Retire the old wiki"],
}
MISSING_BOARD = "/boards/2147483000"  # no such board: the 404 page


@dataclass
class Furnished:
    """Who and what the tours visit: Ada owns the board, Linus edits it, Nell has no boards yet."""
    board_path: str
    card_path: str
    cookies: dict[str, list] = field(default_factory=dict)  # "ada", "linus", "nell" -> the context's cookies
    accounts: dict[str, Account] = field(default_factory=dict)


def dress_up(live_server, board_path: str, people: list[str]) -> str:
    """Labels, people, dates, a checklist, comments and an archived card, straight into the
    database (as weeks of use would leave them); returns the path of CARD's own page."""
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Activity, Card, ChecklistItem, Comment, Label, User, card_assignees

    app = create_app({"SQLALCHEMY_DATABASE_URI": live_server.database_url, "SECRET_KEY": "arranging", "TESTING": True})
    board_id = int(board_path.rsplit("/", 1)[1])
    today = date.today()
    with app.app_context():
        users = [db.session.scalar(db.select(User).where(User.email == email)) for email in people]
        labels = {name: Label(board_id=board_id, name=name, color=color)
                  for name, color in (("Design", "purple"), ("Bug", "red"), ("Marketing", "sky"), ("Legal", "orange"))}
        db.session.add_all(labels.values())
        cards = {card.title: card for card in db.session.scalars(db.select(Card).where(Card.board_id == board_id))}
        plan = {
            CARD: (["Design", "Marketing"], [0, 1], today + timedelta(days=1), (2, 5), 2),
            "Fix the login redirect": (["Bug"], [1], today - timedelta(days=2), (0, 0), 1),
            "Write the launch announcement": (["Marketing"], [0], today + timedelta(days=6), (1, 3), 0),
            "Update the privacy policy": (["Legal"], [], today + timedelta(days=14), (0, 0), 0),
            "Book the venue for the launch party": (["Marketing"], [1], None, (3, 4), 3),
            "Review pull requests": ([], [0], None, (4, 4), 0),
        }
        for title, (names, assignees, due, (done, total), comments) in plan.items():
            row = cards[title]
            row.labels = [labels[name] for name in names]
            row.due_date = due
            for index in assignees:
                db.session.execute(card_assignees.insert().values(card_id=row.id, user_id=users[index].id))
            row.checklist = [ChecklistItem(text=f"Step {n + 1}", done=n < done, position=f"{n + 1}") for n in range(total)]
            row.comments = [Comment(author_id=users[n % 2].id, body="Looks good to me, **ship it**") for n in range(comments)]
        cards[CARD].description = "The hero, the pricing table and the sign-up form.\n\n- mobile first\n- dark mode too"
        cards["Retire the old wiki"].archived_at = datetime.now(timezone.utc)
        # A change the app would have recorded: the board's cached page is keyed by its activity.
        db.session.add(Activity(board_id=board_id, actor_id=users[0].id, verb="card.edited", details={"card": CARD}))
        db.session.commit()
        card_path = f"{board_path}/cards/{cards[CARD].id}"
        db.engine.dispose()
    return card_path


def furnish(browser: Browser, browser_context_args: dict, live_server) -> Furnished:
    accounts = {"ada": new_account("Ada Lovelace"), "linus": new_account("Linus Torvalds"), "nell": new_account("Nell Empty")}
    cookies = {}
    board_path = ""
    for who, account in accounts.items():
        context = browser.new_context(**browser_context_args)
        page = context.new_page()
        sign_up(page, account)
        if who == "ada":
            board_path = create_board(page, BOARD)
            for column, titles in CARDS.items():
                add_cards(page, column, titles)
        cookies[who] = context.cookies()
        context.close()
    make_member(live_server, board_path, accounts["linus"].email, "editor")
    card_path = dress_up(live_server, board_path, [accounts["ada"].email, accounts["linus"].email])
    return Furnished(board_path=board_path, card_path=card_path, cookies=cookies, accounts=accounts)


@pytest.fixture(scope="module")
def furnished(browser: Browser, browser_context_args, live_server) -> Furnished:
    return furnish(browser, browser_context_args, live_server)


# --- the states --------------------------------------------------------------------------------

def as_user(page: Page, furnished: Furnished, who: str | None) -> None:
    if who:
        page.context.add_cookies(furnished.cookies[who])


def goto(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state()
    settled(page)


def on_board(page: Page, f: Furnished) -> None:
    goto(page, f.board_path)
    expect(page.get_by_role("heading", name=BOARD, level=1)).to_be_visible()


def menu_summary(page: Page, name: str):
    """The button (summary) of a pop-up menu on the board, by its name."""
    if name == "Board menu":
        return page.locator("details.board-menu > summary")
    if name == "Column menu":
        return page.get_by_label("Actions for column Doing")
    if name == "User menu":
        return page.locator("details.user-menu > summary")
    return page.locator("details.filter-menu > summary", has_text=re.compile(rf"^\s*{name}\b"))


def open_menu(page: Page, name: str):
    """Open a pop-up menu; returns its <details>."""
    summary = menu_summary(page, name)
    summary.click()
    menu = summary.locator("xpath=..")
    expect(menu).to_have_attribute("open", "")
    expect(menu.locator(".menu-panel")).to_be_visible()
    return menu


def with_menu(name: str) -> Callable[[Page, Furnished], None]:
    def visit(page: Page, f: Furnished) -> None:
        on_board(page, f)
        open_menu(page, name)
    return visit


def with_card_dialog(page: Page, f: Furnished) -> None:
    on_board(page, f)
    open_card(page, CARD)


def with_move_dialog(page: Page, f: Furnished) -> None:
    on_board(page, f)
    page.locator("#board-columns").get_by_role("link", name=CARD, exact=True).focus()
    page.keyboard.press("m")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_role("dialog").get_by_label("Column")).to_be_visible()
    settled(page)


def with_shortcuts_dialog(page: Page, f: Furnished) -> None:
    on_board(page, f)
    page.locator("body").focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name=re.compile("shortcut", re.I))
    try:
        expect(dialog).to_be_visible(timeout=2_000)
    except AssertionError:
        pytest.skip("pressing ? opens no keyboard shortcuts dialog yet (being built for issue 10)")


def on_page(path: Callable[[Furnished], str]) -> Callable[[Page, Furnished], None]:
    def visit(page: Page, f: Furnished) -> None:
        goto(page, path(f))
    return visit


def on_error_page(page: Page, f: Furnished) -> None:
    response = page.goto(MISSING_BOARD)
    assert response and response.status == 404
    page.wait_for_load_state()


def on_phone(visit: Callable[[Page, Furnished], None]) -> Callable[[Page, Furnished], None]:
    def phone(page: Page, f: Furnished) -> None:
        page.set_viewport_size(PHONE)
        visit(page, f)
    return phone


def choose_theme(page: Page, name: str) -> None:
    """Pick a theme in the user menu, as a person does."""
    open_user_menu(page)
    with page.expect_response(lambda r: r.url.endswith("/account/theme") and r.request.method == "POST"):
        page.get_by_role("button", name=name, exact=True).click()


def reset_theme(page: Page) -> None:
    """Back to the system's theme (POST /account/theme), whatever the page shows now."""
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    page.request.post("/account/theme", form={"theme": "system", "csrf_token": token})


def page_is_dark(page: Page) -> bool:
    """The page is in a dark palette: its body text (--text) is light, relative luminance over 0.4.
    (Not its background: a board's page wears the board's colour.)"""
    return page.evaluate("""() => {
        const [r, g, b] = getComputedStyle(document.body).color.match(/[\\d.]+/g).map(Number);
        const lin = c => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b) > 0.4;
    }""")


def in_dark(visit: Callable[[Page, Furnished], None]) -> Callable[[Page, Furnished], None]:
    """The dark theme, chosen in the user menu, on a system that prefers dark too. (Whether the
    choice is remembered is test_layout.py's business; here it is the dark palette that is checked.)"""
    def dark(page: Page, f: Furnished) -> None:
        page.emulate_media(color_scheme="dark")
        goto(page, "/boards/")
        choose_theme(page, "Dark")
        visit(page, f)
        assert page_is_dark(page), (
            f"chose Dark in the user menu (and the system prefers dark), but the page's text is "
            f"{page.evaluate('getComputedStyle(document.body).color')}, "
            f"<html data-theme={page.locator('html').get_attribute('data-theme')!r}>")
    dark.dark = True
    return dark


# name -> (whose cookies, how to get there). Ada unless said otherwise; None: logged out.
STATES: dict[str, tuple[str | None, Callable[[Page, Furnished], None]]] = {
    "login": (None, on_page(lambda f: "/login")),
    "signup": (None, on_page(lambda f: "/signup")),
    "my-boards-empty": ("nell", on_page(lambda f: "/boards/")),
    "my-boards": ("ada", on_page(lambda f: "/boards/")),
    "board": ("ada", on_board),
    "board-phone": ("ada", on_phone(on_board)),
    "board-as-editor": ("linus", on_board),
    "card-dialog": ("ada", with_card_dialog),
    "card-dialog-phone": ("ada", on_phone(with_card_dialog)),
    "move-dialog": ("ada", with_move_dialog),
    "board-menu": ("ada", with_menu("Board menu")),
    "column-menu": ("ada", with_menu("Column menu")),
    "labels-filter": ("ada", with_menu("Labels")),
    "members-filter": ("ada", with_menu("Members")),
    "user-menu": ("ada", with_menu("User menu")),
    "card-page": ("ada", on_page(lambda f: f.card_path)),
    "members": ("ada", on_page(lambda f: f"{f.board_path}/members")),
    "labels": ("ada", on_page(lambda f: f"{f.board_path}/labels")),
    "archive": ("ada", on_page(lambda f: f"{f.board_path}/archive")),
    "activity": ("ada", on_page(lambda f: f"{f.board_path}/activity")),
    "account": ("ada", on_page(lambda f: "/account")),
    "my-cards": ("ada", on_page(lambda f: "/my-cards")),
    "error-404": ("ada", on_error_page),
    "shortcuts-dialog": ("ada", with_shortcuts_dialog),
    "shortcuts-page": ("ada", on_page(lambda f: "/shortcuts")),
    "dark-board": ("ada", in_dark(on_board)),
    "dark-card-dialog": ("ada", in_dark(with_card_dialog)),
    "dark-my-boards": ("ada", in_dark(on_page(lambda f: "/boards/"))),
}


def visit_state(page: Page, furnished: Furnished, state: str) -> None:
    who, visit = STATES[state]
    as_user(page, furnished, who)
    page.set_viewport_size(LAPTOP)
    visit(page, furnished)


@pytest.mark.parametrize("state", list(STATES))
def test_no_serious_accessibility_violations(page: Page, furnished: Furnished, state: str):
    who, visit = STATES[state]
    try:
        visit_state(page, furnished, state)
        assert_no_serious_violations(page, f"{state} ({page.url})")
    finally:
        if getattr(visit, "dark", False):
            reset_theme(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_login_in_the_systems_theme(page: Page, scheme: str):
    """Logged out, the theme is the system's: both must pass."""
    page.emulate_media(color_scheme=scheme)
    goto(page, "/login")
    assert_no_serious_violations(page, f"/login with the system in {scheme} mode")
