"""Command-line tools: `flask seed-demo`, `flask create-user`, `flask repair-positions`."""
import io
import secrets
import struct
import zlib
from datetime import date, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select

from . import storage
from .extensions import db
from .forms import password_problem
from .importers.commands import import_group
from .models import (Activity, Attachment, Board, BoardColumn, BoardMember, Card, ChecklistItem, Comment, Label, User,
                     utcnow)
from .ordering import MAX_KEY, keys_after, lock_parent, repair
from .portable import commands as portable_commands
from .sqlite_lock import hold_write_lock

DEMO_EMAIL = "demo@corkboard.test"
DEMO_PASSWORD = "corkboard-demo"
DEMO_COLOR = "purple"

# The demo team: the demo login owns the board; the others are there to be assigned and mentioned
# (they get a random password: nobody logs in as them).
DEMO_PEOPLE = {"grace": "Grace Hopper", "alan": "Alan Turing", "maya": "Maya Chen"}
DEMO_LABELS = {"Feature": "green", "Quick win": "yellow", "Urgent": "orange", "Bug": "red",
               "Design": "purple", "Docs": "blue"}

LANDING_PAGE_BRIEF = """The new landing page leads with **one promise**: _your team's work, on one board, live_.

- Hero: the board screenshot, the sign-up button above the fold
- Three short sections: boards, live updates, works without JavaScript
- A pricing teaser linking to `/pricing`

See the [style guide](https://example.com/style) for colours and type."""

# Each card: title, then what it carries. Dates are days from today (negative: in the past).
DEMO_BOARD = {
    "Backlog": [
        {"title": "Dark mode for the marketing site", "labels": ["Design"]},
        {"title": "Offline support for the mobile app", "labels": ["Feature"],
         "description": "Cards should open and take edits without a connection, then **sync** when it comes back.\n\n"
                        "Open questions:\n\n1. What wins when two people edit the same card offline?\n2. How long do we keep the queue?"},
        {"title": "Translate the onboarding emails", "labels": ["Docs"]},
        {"title": "Try a referral programme", "labels": ["Quick win"]},
    ],
    "To do": [
        {"title": "Write the launch announcement", "labels": ["Docs"], "assignees": ["maya"], "start": 1, "due": 5,
         "description": "A blog post and a shorter version for the newsletter. Keep it under **600 words**.",
         "checklist": [("Outline", True), ("First draft", False), ("Review with Grace", False), ("Schedule the post", False)]},
        {"title": "Plan the launch webinar", "labels": ["Feature"], "start": 2, "due": 12},
        {"title": "Fix the login redirect loop", "labels": ["Bug", "Urgent"], "assignees": ["alan"], "due": -2,
         "description": "After a password reset, `/login?next=/login` sends people round in circles.\n\n"
                        "**Steps:** reset your password, follow the link, log in.",
         "comments": [("grace", "Three support tickets about this today."),
                      ("alan", "Found it: the `next` parameter isn't checked. Fix coming.")]},
        {"title": "Update the pricing page copy", "labels": ["Quick win"]},
    ],
    "Doing": [
        {"title": "Design the new landing page", "labels": ["Design", "Feature"], "assignees": ["grace", "demo"],
         "start": -3, "due": 1, "description": LANDING_PAGE_BRIEF, "attachment": "landing-page-mockup.png",
         "checklist": [("Wireframes", True), ("Hero copy", True), ("Pick the screenshot", True),
                       ("Mobile layout", False), ("Accessibility review", False)],
         "comments": [("grace", "First mockup attached. The hero is a bit busy on phones."),
                      ("demo", "Love it. @alan can we get the live board embed in the hero?"),
                      ("alan", "Yes, a read-only board works. I'll try it on a staging board.")]},
        {"title": "Set up the status page", "labels": ["Feature"], "assignees": ["alan"],
         "checklist": [("Pick a provider", True), ("Add the health checks", True), ("Link it from the footer", False)]},
        {"title": "Record the product demo video", "labels": ["Design"], "assignees": ["maya"], "due": 3},
        {"title": "Fix the CSV export for large boards", "labels": ["Bug"], "assignees": ["alan"],
         "comments": [("maya", "Boards over 1,000 cards time out. @grace is this a blocker for launch?")]},
    ],
    "Review": [
        {"title": "Onboarding checklist for new teams", "labels": ["Feature"], "assignees": ["grace"],
         "description": "A first board that teaches itself: each card is one step (invite someone, add a label, move a card).",
         "comments": [("demo", "Reads well. Ship it once the copy is final.")]},
        {"title": "Help centre: getting started guide", "labels": ["Docs"], "assignees": ["maya"],
         "checklist": [("Boards and columns", True), ("Cards and labels", True), ("Inviting people", True),
                       ("Keyboard shortcuts", True)]},
        {"title": "Compress the images on the blog", "labels": ["Quick win"], "assignees": ["demo"]},
    ],
    "Done": [
        {"title": "Set up the project board"},
        {"title": "Invite the team", "assignees": ["demo"]},
        {"title": "Choose the launch date", "labels": ["Urgent"]},
        {"title": "Brand colours and logo", "labels": ["Design"], "assignees": ["grace"]},
        {"title": "Fix the typo in the sign-up email", "labels": ["Bug"], "assignees": ["alan"]},
    ],
}


def init_app(app):
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(repair_positions)
    portable_commands.init_app(app)  # export-board, backup, restore
    app.cli.add_command(import_group)


def demo_person(handle: str, name: str) -> User:
    email = f"{handle}@corkboard.test"
    person = db.session.scalar(select(User).where(User.email == email))
    if person is None:
        person = User(name=name, email=email)
        person.set_password(secrets.token_urlsafe(24))
        db.session.add(person)
    return person


def create_showcase_board(owner: User) -> Board:
    """The demo board: five columns of cards with labels, people, dates, checklists, comments,
    Markdown descriptions and an image attachment (its cover on the card)."""
    people = {"demo": owner, **{handle: demo_person(handle, name) for handle, name in DEMO_PEOPLE.items()}}
    board = Board(title="Product launch", owner=owner, color=DEMO_COLOR)
    board.members = [BoardMember(user=owner, role="owner"),
                     *(BoardMember(user=people[handle], role="editor") for handle in DEMO_PEOPLE)]
    labels = {name: Label(name=name, color=color) for name, color in DEMO_LABELS.items()}
    board.labels = list(labels.values())
    today, now = date.today(), utcnow()
    days = lambda offset: today + timedelta(days=offset) if offset is not None else None  # noqa: E731
    attachments = []
    minutes_ago = 60 * 24 * 3  # comments, oldest first, over the last three days
    for (column_title, cards), column_key in zip(DEMO_BOARD.items(), keys_after(None, len(DEMO_BOARD))):
        column = BoardColumn(title=column_title, position=column_key, wip_limit=4 if column_title == "Doing" else None)
        board.columns.append(column)
        for spec, key in zip(cards, keys_after(None, len(cards))):
            card = Card(board=board, title=spec["title"], position=key, description=spec.get("description", ""),
                        start_date=days(spec.get("start")), due_date=days(spec.get("due")),
                        labels=[labels[name] for name in spec.get("labels", ())],
                        assignees=[people[handle] for handle in spec.get("assignees", ())])
            checklist = spec.get("checklist", ())
            card.checklist = [ChecklistItem(text=text, done=done, position=item_key)
                              for (text, done), item_key in zip(checklist, keys_after(None, len(checklist)))]
            for handle, body in spec.get("comments", ()):
                minutes_ago -= 97
                card.comments.append(Comment(author=people[handle], body=body,
                                             created_at=now - timedelta(minutes=minutes_ago)))
            if "attachment" in spec:
                attachments.append((card, spec["attachment"], people["grace"]))
            column.cards.append(card)
    db.session.add(board)
    db.session.flush()
    for card, filename, uploader in attachments:
        blob = storage.save(io.BytesIO(mockup_png()))
        db.session.add(Attachment(card_id=card.id, uploader_id=uploader.id, filename=filename, sha256=blob.sha256,
                                  content_type="image/png", size=blob.size, is_image=blob.image_type is not None))
    demo_history(board, people)
    return board


def demo_history(board: Board, people: dict[str, User]) -> None:
    """A few lines of the activity log, so the board's history has a story to tell."""
    owner = people["demo"]
    entries = [(owner, "board.created", None, {})]
    entries += [(people[handle], "member.joined", None, {"role": "editor"}) for handle in DEMO_PEOPLE]
    for column in board.columns:
        for card in column.cards:
            entries.append((owner, "card.created", card, {"card": card.title, "column": column.title}))
    done = board.columns[-1]
    entries += [(people["grace"], "card.moved", card, {"card": card.title, "source": "Review", "target": done.title})
                for card in done.cards[:2]]
    start = utcnow() - timedelta(days=4)
    for step, (actor, verb, card, details) in enumerate(entries):
        db.session.add(Activity(board_id=board.id, card_id=card.id if card else None, actor_id=actor.id, verb=verb,
                                details=details, created_at=start + timedelta(minutes=7 * step)))


def mockup_png(width: int = 480, height: int = 270) -> bytes:
    """A small PNG drawn in code: a landing page wireframe (sky header, hero, three cards)."""
    sky, ink, white, accent, soft = (108, 195, 224), (9, 30, 66), (255, 255, 255), (159, 143, 239), (233, 242, 255)

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if y < 34:  # the top bar: a logo and a button
            if 16 <= x < 40 and 10 <= y < 24:
                return accent
            if width - 88 <= x < width - 16 and 9 <= y < 25:
                return ink
            return sky
        if 60 <= y < 78 and 40 <= x < 300 or 88 <= y < 98 and 40 <= x < 240:  # the headline, the subtitle
            return ink if y < 78 else (80, 95, 121)
        if 112 <= y < 134 and 40 <= x < 150:  # the sign-up button
            return accent
        if 52 <= y < 150 and 330 <= x < 450:  # the hero picture
            return (accent if (x - 330) // 30 % 2 == (y - 52) // 25 % 2 else soft)
        for left in (40, 180, 320):  # three feature cards
            if 172 <= y < 246 and left <= x < left + 120:
                return soft if y > 182 + 10 else sky
        return white

    rows = b"".join(b"\x00" + bytes(channel for x in range(width) for channel in pixel(x, y)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def seed_demo(if_empty: bool):
    """Create the demo user and the demo board (its team, labels, dates, checklists, comments, an image)."""
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("Corkboard: the database already has data; no demo data loaded.")
        return
    user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = User(name="Demo", email=DEMO_EMAIL)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    create_showcase_board(user)
    db.session.commit()
    click.echo(f"Corkboard demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--name", prompt=True)
@click.password_option()
def create_user(email: str, name: str, password: str):
    """Create an account."""
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise click.ClickException(f"An account for {email} already exists.")
    problem = password_problem(password, name, email)
    if problem:
        raise click.ClickException(problem)
    user = User(name=name.strip(), email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {email}.")


# What holds an order, what it is ordered within (the parent's model and column), what to call them.
ORDERED = [
    (Card, BoardColumn, Card.column_id, "cards of column"),
    (BoardColumn, Board, BoardColumn.board_id, "columns of board"),
    (ChecklistItem, Card, ChecklistItem.card_id, "checklist items of card"),
]


@click.command("repair-positions")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Only list what would be rewritten.")
def repair_positions(dry_run: bool):
    """Rewrite duplicated (or overlong) order keys, keeping the order the board shows.

    Several workers on SQLite before the write lock could give two cards of a column the same
    key; a drop between those two then failed. Each such column (board, checklist) gets fresh
    keys in its current order, in one transaction."""
    hold_write_lock()  # SQLite: a running server's moves wait until the repair is committed
    fixed = 0
    for model, parent_model, parent, label in ORDERED:
        duplicated = select(parent).group_by(parent, model.position).having(func.count() > 1)
        overlong = select(parent).where(func.length(model.position) > MAX_KEY)
        parents = db.session.scalars(select(parent).where(or_(parent.in_(duplicated), parent.in_(overlong)))
                                     .distinct().order_by(parent)).all()
        for parent_id in parents:
            lock_parent(db.session, parent_model, parent_id)  # a database server: that parent's moves wait
            changed = repair(db.session, model, parent == parent_id)
            fixed += 1
            click.echo(f"{'Would rewrite' if dry_run else 'Rewrote'} {changed} keys: {label} {parent_id}")
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    orders = f"{fixed} order{'s' if fixed > 1 else ''}"
    click.echo(f"Corkboard: {orders} {'to repair' if dry_run else 'repaired'}." if fixed
               else "Corkboard: no duplicated positions.")

