"""Fixtures: a fresh app and database per test, and helpers that act like a user."""
import os
import re

import pytest
from sqlalchemy import text

from webapp import create_app
from webapp.extensions import db
from webapp.models import Board, BoardColumn, BoardMember, Card, User
from webapp.ordering import keys_after

# Importing webapp.asgi builds the served app, which insists on a secret key.
os.environ.setdefault("SECRET_KEY", "test-secret")

pytest_plugins = ["tests.smtp"]

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def app_config(url, tmp_path, **extra) -> dict:
    """What every test app runs with; `extra` overrides it."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests only
        "DEV_MAILBOX": False,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "JOBS_FOLDER": str(tmp_path / "jobs"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 1,  # nothing listens: a test that sends mail uses the `smtp` fixture
        **extra,
    }


def fresh_app(config: dict):
    """An app on an empty schema for one test (a generator for fixtures: yield from it)."""
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
    yield app
    app.extensions["jobs"].shutdown()  # an import still writing would outlive its tables
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def app(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    yield from fresh_app(app_config(url, tmp_path))


class UserClient:
    """A logged-in browser: plain form posts (no JavaScript) or HTMX requests."""

    def __init__(self, app, email):
        self.app = app
        self.client = app.test_client()
        self.client.post("/login", data={"email": email, "password": "password123",
                                         "csrf_token": self._token("/login")})
        self.token = self._token("/boards/")

    def _token(self, url):
        html = self.client.get(url).get_data(as_text=True)
        match = TOKEN.search(html) or re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        return match.group(1)

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def form(self, method, url, data=None, **kwargs):
        """A plain HTML form: POST, with `?_method=` for other verbs, token in the body."""
        data = dict(data or {}, csrf_token=self.token)
        if method != "POST":
            url += ("&" if "?" in url else "?") + f"_method={method}"
        return self.client.post(url, data=data, **kwargs)

    def hx(self, method, url, data=None, headers=None, **kwargs):
        """An HTMX request: the real verb, HX-Request and the CSRF header from <body hx-headers>."""
        headers = {"HX-Request": "true", "X-CSRFToken": self.token, **(headers or {})}
        return self.client.open(url, method=method, data=data, headers=headers, **kwargs)


def make_user(name="Ada", email=None):
    user = User(name=name, email=email or f"{name.lower()}@example.com")
    user.set_password("password123")
    db.session.add(user)
    db.session.commit()
    return user


def make_board(owner, title="Roadmap", columns=None):
    """A board with columns {title: [card titles]}, ordered as given."""
    columns = columns if columns is not None else {"To do": ["One", "Two", "Three"], "Doing": [], "Done": []}
    board = Board(title=title, owner=owner)
    board.members = [BoardMember(user=owner, role="owner")]
    for (column_title, cards), column_key in zip(columns.items(), keys_after(None, len(columns))):
        column = BoardColumn(title=column_title, position=column_key)
        column.cards = [Card(board=board, title=card, position=key)
                        for card, key in zip(cards, keys_after(None, len(cards)))]
        board.columns.append(column)
    db.session.add(board)
    db.session.commit()
    return board


class BoardRef:
    """Ids of a board made for a test: `ref.id`, `ref.columns["To do"]`, `ref.cards["One"]`."""

    def __init__(self, board):
        self.id = board.id
        self.url = f"/boards/{board.id}"
        self.columns = {column.title: column.id for column in board.columns}
        self.cards = {card.title: card.id for column in board.columns for card in column.cards}
        self.extra_ids: dict[str, int] = {}  # ids of other things on the board, by URL argument name

    def card_url(self, title):
        return f"{self.url}/cards/{self.cards[title]}"

    def column_url(self, title):
        return f"{self.url}/columns/{self.columns[title]}"


@pytest.fixture
def ada(app):
    """Ada, logged in, with her board "Roadmap": To do (One, Two, Three), Doing, Done."""
    with app.app_context():
        board = BoardRef(make_board(make_user("Ada")))
    client = UserClient(app, "ada@example.com")
    client.board = board
    return client


@pytest.fixture
def bob(app, ada):
    """Bob, logged in, a stranger to Ada's board."""
    with app.app_context():
        make_user("Bob")
    return UserClient(app, "bob@example.com")


def card_titles(app, board_id, column_title):
    """What a column holds, top to bottom, straight from the database."""
    with app.app_context():
        column = db.session.scalar(db.select(BoardColumn).where(
            BoardColumn.board_id == board_id, BoardColumn.title == column_title))
        return [card.title for card in column.cards]


def column_titles(app, board_id):
    with app.app_context():
        return [column.title for column in db.session.get(Board, board_id).columns]


def order_keys(app, board_id):
    with app.app_context():
        return dict(db.session.execute(
            db.select(Card.id, Card.position).where(Card.board_id == board_id)).all())
