"""A full board as a team uses it: what the README shows. `make screenshots` writes it to
docs/screenshot.png (CORKBOARD_SCREENSHOTS=docs); a plain test run keeps its picture in
test-results/, so running the tests never changes a tracked file."""
import os
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, expect

from webapp import create_app
from webapp.extensions import db
from webapp.models import BoardMember, Card, ChecklistItem, Comment, Label, User, card_assignees

from .actions import add_cards, card, create_board, new_account, settled, sign_up
from .test_teams import make_member, viewers

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / ("docs" if os.environ.get("CORKBOARD_SCREENSHOTS") == "docs" else "test-results") / "screenshot.png"

CARDS = {
    "To do": ["Translate the FAQ into German", "Book the venue for the launch party", "Update the privacy policy"],
    "Doing": ["Design the new landing page", "Write the launch announcement", "Fix the login redirect"],
    "Done": ["Set up the project board", "Invite the team", "Review pull requests"],
}


def dress_up(live_server, board_path: str, people: list[str]) -> None:
    """Labels, people, dates, checklists and comments, as weeks of use would leave them."""
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
            "Design the new landing page": (["Design"], [0, 1], today + timedelta(days=1), (2, 5), 2),
            "Fix the login redirect": (["Bug"], [1], today - timedelta(days=2), (0, 0), 1),
            "Write the launch announcement": (["Marketing"], [0], today + timedelta(days=6), (1, 3), 0),
            "Update the privacy policy": (["Legal"], [], today + timedelta(days=14), (0, 0), 0),
            "Book the venue for the launch party": (["Marketing"], [1], None, (3, 4), 3),
            "Review pull requests": ([], [0], None, (4, 4), 0),
        }
        for title, (names, assignees, due, (done, total), comments) in plan.items():
            card_row = cards[title]
            card_row.labels = [labels[name] for name in names]
            card_row.due_date = due
            for index in assignees:
                db.session.execute(card_assignees.insert().values(card_id=card_row.id, user_id=users[index].id))
            card_row.checklist = [ChecklistItem(text=f"Step {n + 1}", done=n < done, position=f"{n + 1}")
                                  for n in range(total)]
            card_row.comments = [Comment(author_id=users[0].id, body="Looks good") for _ in range(comments)]
            card_row.description = "Notes" if comments else ""
        # A change the app would have recorded: the board's cached page is keyed by its activity.
        from webapp.models import Activity
        db.session.add(Activity(board_id=board_id, actor_id=users[0].id, verb="card.edited", details={"card": "x"}))
        db.session.commit()
        db.engine.dispose()


def test_a_board_in_use(browser: Browser, browser_context_args, live_server):
    context = browser.new_context(**browser_context_args)
    page, teammate = context.new_page(), browser.new_context(**browser_context_args).new_page()
    ada, linus = new_account("Ada Lovelace"), new_account("Linus Torvalds")
    sign_up(page, ada)
    sign_up(teammate, linus)
    board_path = create_board(page, "Website relaunch")
    for column, titles in CARDS.items():
        add_cards(page, column, titles)
    make_member(live_server, board_path, linus.email, "editor")
    dress_up(live_server, board_path, [ada.email, linus.email])
    teammate.goto(board_path)
    page.reload()
    settled(page)

    fix = card(page, "Fix the login redirect")
    expect(fix.get_by_text("Bug")).to_be_visible()
    expect(fix.locator("time.due")).to_contain_text("overdue")
    expect(card(page, "Design the new landing page").get_by_title("Checklist")).to_have_text("☑ 2/5")
    expect(card(page, "Design the new landing page").locator(".avatar")).to_have_text(["AL", "LT"])
    expect(viewers(page)).to_have_count(2)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOT)
    context.close()
    teammate.context.close()
