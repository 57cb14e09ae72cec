"""Property: no request gets a 5xx, whatever its path, query string or form fields hold.

Every rule in the URL map, with every method it allows, is sent by an anonymous visitor, by a
stranger to the board and by its owner (logged in, with the CSRF header HTMX sends). Path
arguments are real ids of a board with one of everything, or numbers no row can have (2**31,
0, negative, thousands of digits), or garbage; query strings and forms carry the field names
the views read plus random ones, holding huge ids, Unicode digits, CR/LF, empty strings...
A bad request must get a 4xx that says so, never a 500.
"""
import io
import os
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from webapp import create_app, storage
from webapp.extensions import db
from webapp.models import (Attachment, Board, BoardColumn, BoardMember, Card, ChecklistItem, Comment, Invitation,
                           Label, User)
from tests.conftest import BoardRef, UserClient, make_board, make_user

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))  # per route, method and visitor; raise it to dig deeper

BIG = [str(n) for n in (2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**30, 0)] + ["1" + "0" * 4400]
weird_text = st.sampled_from([
    "", " ", "-1", "0", "+5", "1_000", "1e5", "0x10", "٣", "²", "１２", "\r", "\n", "a\r\nb", "\x00", "null",
    "9" * 20, "9" * 5000, "../../etc/passwd", "<script>alert(1)</script>", "2030-02-30", "9999-12-31",
    "editor", "owner", "red", "overdue", "week", "none", "on", "true", "%", "\\", "’", "\U0001F5BC",
])
number_text = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), st.sampled_from(BIG))
value = st.one_of(weird_text, number_text, st.text(max_size=40))


class World:
    """A board with one of everything, owned by Ada; Bob is no member. Rebuilt if a request
    deleted it, so later examples still reach real rows."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            make_user("Ada")
            make_user("Bob")
        self.ada = UserClient(app, "ada@example.com")
        self.bob = UserClient(app, "bob@example.com")
        self.anonymous = app.test_client()
        self.build()

    def build(self):
        with self.app.app_context():
            ada = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
            board = make_board(ada)
            ref = BoardRef(board)
            card = db.session.get(Card, ref.cards["One"])
            label = Label(board_id=board.id, name="Bug", color="red")
            item = ChecklistItem(card_id=card.id, text="Step", position="i")
            comment = Comment(card_id=card.id, author_id=ada.id, body="Hello")
            png = io.BytesIO()
            Image.new("RGB", (4, 3), "teal").save(png, "PNG")
            png.seek(0)
            blob = storage.save(png)
            attachment = Attachment(card_id=card.id, uploader_id=ada.id, filename="a.png", sha256=blob.sha256,
                                    content_type="image/png", size=blob.size, is_image=True)
            invitation = Invitation(board_id=board.id, email="guest@example.com", role="viewer",
                                    invited_by_id=ada.id)
            db.session.add_all([label, item, comment, attachment, invitation])
            db.session.commit()
            member_id = db.session.scalar(db.select(BoardMember.id).where(BoardMember.board_id == board.id))
            self.ids = {"user_id": ada.id, "board_id": board.id, "column_id": ref.columns["To do"], "card_id": card.id,
                        "label_id": label.id, "item_id": item.id, "comment_id": comment.id,
                        "attachment_id": attachment.id, "invitation_id": invitation.id, "member_id": member_id}
            self.board_id = board.id

    MODELS = {"board_id": Board, "column_id": BoardColumn, "card_id": Card, "label_id": Label,
              "item_id": ChecklistItem, "comment_id": Comment, "attachment_id": Attachment,
              "invitation_id": Invitation, "member_id": BoardMember}

    def ensure(self):
        """Whatever the last request deleted or changed, the next starts from a whole board."""
        with self.app.app_context():
            intact = all(db.session.get(model, self.ids[name]) is not None for name, model in self.MODELS.items())
            if intact:
                card = db.session.get(Card, self.ids["card_id"])
                column = db.session.get(BoardColumn, self.ids["column_id"])
                member = db.session.get(BoardMember, self.ids["member_id"])
                intact = card.archived_at is None and column.archived_at is None and member.role == "owner"
            db.session.remove()
        if not intact:
            self.build()
        if "_user_id" not in _session(self.ada.client):
            self.ada = UserClient(self.app, "ada@example.com")
        if "_user_id" not in _session(self.bob.client):
            self.bob = UserClient(self.app, "bob@example.com")


def _session(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'fuzz.db'}"
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "DEV_MAILBOX": False,
        "UPLOAD_FOLDER": str(tmp / "uploads"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 1,
        "RATELIMIT_ENABLED": False,  # a flood of requests is what this test is; limits have their own tests
        "PROPAGATE_EXCEPTIONS": False,  # a crash is a 500 answer, which is what this test looks for
    })
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
    yield World(app)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _routes():
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "DEV_MAILBOX": False, "MAIL_SERVER": "127.0.0.1"})
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield pytest.param(rule.rule, method, id=f"{method} {rule.rule}")


ROUTES = list(_routes())
ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def path_value(converter: str | None, name: str):
    garbage = st.one_of(weird_text, st.text(min_size=1, max_size=12)).filter(lambda s: s.strip("/") and "/" not in s)
    if converter == "int":
        return st.one_of(st.just(("real", name)), st.one_of(number_text, garbage).map(lambda s: ("text", s)))
    return st.one_of(garbage, st.just("1")).map(lambda s: ("text", s))


def argument_names(template: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", template)


def fill(rule: str, draw) -> str:
    def replace(match):
        kind, raw = draw(path_value(match.group(1), match.group(2)))
        return ("{%s}" % raw) if kind == "real" else quote(raw, safe="")
    return ARGUMENT.sub(replace, rule)


# A plausible value for each field, so that one odd field among sensible ones reaches the code
# behind the form's other checks. ("real", name) is an id of the board's rows, filled in per request.
DEFAULTS = {
    "title": "Fuzzed", "description": "d", "version": "", "column_id": ("real", "column_id"), "position": "0",
    "wip_limit": "3", "labels": ("real", "label_id"), "assignees": ("real", "user_id"), "name": "Spike",
    "color": "red", "text": "Step", "done": "y", "body": "Hi", "email": "ada@example.com",
    "password": "password123", "confirm": "password123", "role": "editor", "remember": "",
    "start_date": "2030-01-01", "due_date": "2030-01-02", "q": "One", "due": "overdue",
    "before": ("real", "card_id"), "label": ("real", "label_id"), "assignee": ("real", "user_id"),
    "next": "/boards/", "token": "x", "last": "1", "_method": "PATCH",
}
NUMERIC = ["before", "label", "assignee", "last", "version", "column_id", "position", "wip_limit", "labels",
           "assignees"]
BAD_NUMBERS = [str(2**31), "9223372036854775808", "²", "1" + "0" * 5000]

QUERY_FIELDS = {"before", "label", "assignee", "q", "due", "next", "token", "last", "_method"}


def some_of(names):
    return st.fixed_dictionaries({}, optional={name: st.one_of(st.just(DEFAULTS[name]), value) for name in names})


query_fields = some_of(sorted(QUERY_FIELDS))
form_fields = some_of(sorted(DEFAULTS.keys() - QUERY_FIELDS) + ["next", "token"])
extra = st.lists(st.tuples(st.text(max_size=8), value), max_size=3)


def resolve(world, pairs) -> list[tuple[str, str]]:
    return [(name, str(world.ids.get(v[1], 1)) if isinstance(v, tuple) else v) for name, v in pairs]


def tiny_png() -> bytes:
    png = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(png, "PNG")
    return png.getvalue()


# What an upload field may carry: nothing, an empty file, a real image, bytes that claim to be one.
uploads = st.sampled_from([None, ("", b""), ("a.png", tiny_png()), ("b.png", b"\x89PNG not really"),
                           ("../../x.html", b"<script>1</script>"), ("\r\n.txt", b"x"), ("a\x00.txt", b"x")])


def send(world, who, method, url, query, form, htmx, upload=None):
    if query:
        url += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in resolve(world, query))
    headers = {"HX-Request": "true"} if htmx else {}
    if who == "anonymous":
        client = world.anonymous
    else:
        user = world.bob if who == "stranger" else world.ada
        client = user.client
        headers["X-CSRFToken"] = user.token
    body = None if method == "GET" else MultiDict(resolve(world, form))
    if body is not None and upload:
        body.add("files", (io.BytesIO(upload[1]), upload[0]))
    response = client.open(url, method=method, data=body, headers=headers)
    assert response.status_code < 500, (
        f"{method} {url[:300]} form={str(body)[:300]} as {who} answered {response.status_code}:\n"
        f"{response.get_data(as_text=True)[:500]}")
    return response


@pytest.mark.parametrize("who", ["anonymous", "stranger", "owner"])
@pytest.mark.parametrize("rule, method", ROUTES)
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_request_gets_a_5xx(world, rule, method, who, data):
    world.ensure()
    template = fill(rule, data.draw)
    url = template.format(**{name: world.ids.get(name, 1) for name in argument_names(template)})
    query = list(data.draw(query_fields, label="query").items()) + data.draw(extra, label="query extra")
    form = [] if method == "GET" else (list(data.draw(form_fields, label="form").items())
                                       + data.draw(extra, label="form extra"))
    upload = data.draw(uploads, label="upload") if "attachments" in rule and method == "POST" else None
    send(world, who, method, url, query, form, data.draw(st.booleans(), label="htmx"), upload)


@pytest.mark.parametrize("rule, method", ROUTES)
def test_every_numeric_field_takes_a_number_no_row_can_have(world, rule, method):
    """The owner passes every check but one: each field that holds a number or an id, in turn,
    holds 2**31 (beyond PostgreSQL's INTEGER), 2**63 (beyond SQLite's), a Unicode digit or five
    thousand digits, in the query and in the form."""
    for name in NUMERIC:
        for bad in BAD_NUMBERS:
            world.ensure()
            url = ARGUMENT.sub(lambda match: "{%s}" % match.group(2), rule)
            url = url.format(**{arg: world.ids.get(arg, 1) for arg in argument_names(url)})
            pairs = [(field, bad if field == name else default) for field, default in DEFAULTS.items()
                     if field != "_method"]
            send(world, "owner", method, url, pairs, pairs, htmx=True)
