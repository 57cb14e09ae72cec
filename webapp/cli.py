"""Command-line tools: `flask seed-demo`, `flask create-user`, `flask repair-positions`."""
import click
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select

from .extensions import db
from .forms import password_problem
from .models import Board, BoardColumn, BoardMember, Card, ChecklistItem, User
from .ordering import MAX_KEY, keys_after, lock_parent, repair
from .sqlite_lock import hold_write_lock

DEMO_EMAIL = "demo@corkboard.test"
DEMO_PASSWORD = "corkboard-demo"

DEMO_BOARD = {
    "To do": ["Write the launch announcement", "Plan the team offsite", "Review pull requests"],
    "Doing": ["Design the new landing page", "Fix the login redirect"],
    "Done": ["Set up the project board", "Invite the team"],
}


def init_app(app):
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(repair_positions)


def create_demo_board(owner: User, title: str, columns: dict[str, list[str]],
                      description: str = "") -> Board:
    board = Board(title=title, owner=owner)
    board.members = [BoardMember(user=owner, role="owner")]
    for (column_title, cards), column_key in zip(columns.items(), keys_after(None, len(columns))):
        column = BoardColumn(title=column_title, position=column_key)
        column.cards = [Card(board=board, title=card_title, description=description, position=key)
                        for card_title, key in zip(cards, keys_after(None, len(cards)))]
        board.columns.append(column)
    db.session.add(board)
    return board



@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def seed_demo(if_empty: bool):
    """Create the demo user and a demo board."""
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("Corkboard: the database already has data; no demo data loaded.")
        return
    user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = User(name="Demo", email=DEMO_EMAIL)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    create_demo_board(user, "Launch plan", DEMO_BOARD)
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

