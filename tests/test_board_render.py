"""The board page renders the same HTML with the page cache off, and its partials render alone as in the page."""
import re
from datetime import date, timedelta

from flask import g, render_template

from tests.conftest import UserClient, make_board, make_user
from webapp.extensions import db
from webapp.models import Board, BoardColumn, ChecklistItem, Comment, Label
from webapp.queries import board_context, card_faces

TOKENS = re.compile(r'(csrf_token" value="|"X-CSRFToken": "|/events\?token=)[^"&]+')


def tokens_out(html: str) -> str:
    return TOKENS.sub(r"\1T", html)


def rich_board(owner) -> Board:
    """A board whose faces show everything: labels (one unnamed), people, due dates, checklists, comments."""
    board = make_board(owner, columns={"To do": ["Plain", "Busy <b>&</b>", "Late"], "Doing": ["Soon"], "Done": []})
    bug, unnamed = Label(board_id=board.id, name="Bug", color="red"), Label(board_id=board.id, name="", color="blue")
    db.session.add_all([bug, unnamed])
    cards = {card.title: card for column in board.columns for card in column.cards}
    busy = cards["Busy <b>&</b>"]
    busy.labels = [bug, unnamed]
    busy.assignees = [owner, make_user("Bob Smith")]
    busy.description = "Words"
    db.session.add_all([ChecklistItem(card=busy, text="a", done=True, position="a"),
                        ChecklistItem(card=busy, text="b", position="b"),
                        Comment(card=busy, author=owner, body="Hello")])
    cards["Late"].due_date = date.today() - timedelta(days=3)
    cards["Soon"].due_date = date.today() + timedelta(days=1)
    board.columns[0].wip_limit = 2
    db.session.commit()
    return board


def page_of(app) -> tuple[str, int]:
    with app.app_context():
        board_id = rich_board(make_user("Ada")).id
    ada = UserClient(app, "ada@example.com")
    first, second = (ada.get(f"/boards/{board_id}").get_data(as_text=True) for _ in range(2))
    assert tokens_out(first) == tokens_out(second)
    return first, board_id


def test_the_uncached_board_page_is_the_cached_one(app):
    with app.app_context():
        board_id = rich_board(make_user("Ada")).id
    ada = UserClient(app, "ada@example.com")
    cached = [ada.get(f"/boards/{board_id}").get_data(as_text=True) for _ in range(2)]
    kept = len(app.extensions["rendered"]._items)
    app.config["PAGE_CACHE"] = False
    uncached = [ada.get(f"/boards/{board_id}").get_data(as_text=True) for _ in range(2)]
    assert len({tokens_out(page) for page in cached + uncached}) == 1
    assert kept > 0 and len(app.extensions["rendered"]._items) == kept  # nothing more kept with the cache off
    for shown in ('class="label label-red">Bug</span>', 'title="blue label"', 'title="Bob Smith">BS</span>',
                  ' · overdue</time>', ' · due soon</time>', 'title="Checklist">1/2</span>',
                  'title="Comments">1</span>', "Busy &lt;b&gt;&amp;&lt;/b&gt;", "over WIP limit"):
        assert shown in uncached[0]


def test_each_partial_alone_renders_what_the_page_shows(app):
    page, board_id = page_of(app)
    with app.test_request_context(f"/boards/{board_id}"):
        g.board_role = "owner"
        board = db.session.get(Board, board_id)
        for face in card_faces(board_id):
            alone = render_template("partials/card.html", card=face)
            assert alone.startswith(f'<li id="card-{face.id}" class="card">') and alone in page
            assert render_template("partials/card.html", card=face, oob=True) == alone.replace(
                'class="card">', 'class="card" hx-swap-oob="true">', 1)
        context = board_context(board)
        for column in db.session.scalars(db.select(BoardColumn).where(BoardColumn.board_id == board_id)):
            title = render_template("partials/column_title.html", column=column)
            assert title in page and 'hx-swap-oob' not in title
            count = len(context["cards"].get(column.id, []))
            counts = render_template("partials/column_counts.html", counts=[(column, count)])
            assert counts in page
            shown = render_template("partials/column_counts.html", counts=[(column, count)], shown=0)
            assert f"0 of {count}" in shown
        assert tokens_out(render_template("partials/columns.html", **context)) in tokens_out(page)


def test_columns_swapped_out_of_band_carry_it_on_their_titles_counts_and_faces(app):
    with app.app_context():
        board = rich_board(make_user("Ada"))
        board_id = board.id
    with app.test_request_context(f"/boards/{board_id}"):
        g.board_role = "owner"
        html = render_template("partials/columns.html", oob=True, **board_context(db.session.get(Board, board_id)))
    assert html.startswith('<div id="board-columns" class="board-columns" data-board-url="/boards/')
    faces = re.findall(r'<li id="card-\d+" class="card"[^>]*>', html)
    assert len(faces) == 4 and all('hx-swap-oob="true"' in face for face in faces)
    assert html.count('class="column-title" hx-swap-oob="true"') == 3
