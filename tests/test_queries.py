"""The board page loads in a fixed number of SQL statements, however many cards it shows."""
from contextlib import contextmanager

from sqlalchemy import event

from webapp.extensions import db
from webapp import live
from webapp.models import Activity, Board, BoardMember, Card, User
from webapp.ordering import keys_after

# the user with my role and the board's version (its latest activity); the board; its columns;
# its cards; the board's labels, each with the cards that carry it (one statement serves the cards'
# faces and the filter bar); the cards' assignees; and for the filter bar, the board's members
BOARD_PAGE_QUERIES = 7
# the same board again, unchanged: the user (and their login) with my role and the board's version
CACHED_BOARD_PAGE_QUERIES = 1
# filtered, never cached: as the first view, plus the real column counts
FILTERED_BOARD_PAGE_QUERIES = 8


@contextmanager
def count_queries(app):
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def add_cards(app, board_id, count):
    """Cards added the way the app adds them: with an activity, which is the board's new version."""
    with app.app_context():
        columns = db.session.get(Board, board_id).columns
        for index, key in enumerate(keys_after("z", count)):
            column = columns[index % len(columns)]
            db.session.add(Card(board_id=board_id, column_id=column.id, title=f"Card {index}",
                                description="Some words", position=key))
        db.session.add(Activity(board_id=board_id, verb="card.created", details={"card": "Card"}))
        db.session.commit()


def test_board_page_query_count_does_not_grow_with_cards(app, ada):
    with count_queries(app) as small:
        assert ada.get(ada.board.url).status_code == 200
    add_cards(app, ada.board.id, 120)
    with count_queries(app) as large:
        page = ada.get(ada.board.url).get_data(as_text=True)
    assert page.count('class="card"') == 123
    assert len(small) == len(large) == BOARD_PAGE_QUERIES, large
    with count_queries(app) as cached:
        cached_page = ada.get(ada.board.url).get_data(as_text=True)
    assert cached_page.replace(token(cached_page), "T") == page.replace(token(page), "T")
    assert len(cached) == CACHED_BOARD_PAGE_QUERIES, cached
    assert "login_sessions" in cached[0]  # the same one statement checks that the login still stands


def token(page):
    return page.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]


def test_cached_board_page_carries_this_requests_tokens_and_the_latest_change(app, ada):
    first = ada.get(ada.board.url).get_data(as_text=True)
    assert "csrf-" not in first.split('"X-CSRFToken"')[1][:10]
    again = ada.get(ada.board.url).get_data(as_text=True)
    assert token(again) in again.split("add-card", 1)[1]  # the forms carry this response's token
    ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Fresh card"})
    assert ">Fresh card</a>" in ada.get(ada.board.url).get_data(as_text=True)


def test_filtered_board_page_query_count_is_fixed_too(app, ada):
    add_cards(app, ada.board.id, 30)
    with count_queries(app) as statements:
        ada.get(f"{ada.board.url}?q=card 1")
    assert len(statements) == FILTERED_BOARD_PAGE_QUERIES, statements


def test_each_member_gets_their_own_cached_page(app, ada, bob):
    with app.app_context():
        db.session.add(BoardMember(board_id=ada.board.id, user_id=bob_id(), role="viewer"))
        db.session.commit()
    pages = {}
    for who in (ada, bob, ada, bob):
        pages[who] = who.get(ada.board.url).get_data(as_text=True)
    ada_page, bob_page = pages[ada], pages[bob]
    assert '<strong class="who">Ada</strong>' in ada_page and '<strong class="who">Bob</strong>' in bob_page
    assert token(ada_page) != token(bob_page)
    streams = [live.read_token(app.secret_key, stream_token(page), ada.board.id) for page in (ada_page, bob_page)]
    with app.app_context():
        assert streams == [db.session.get(Board, ada.board.id).owner_id, bob_id()]
    # Bob is a viewer: his board is read-only, whoever asked for the page first.
    assert 'class="board"' in ada_page and 'class="board read-only"' in bob_page


def test_a_flashed_message_shows_once_on_the_board_page(app, ada):
    ada.get(ada.board.url)  # cached
    with ada.client.session_transaction() as session:
        session["_flashes"] = [("info", "Welcome to the board.")]
    assert "Welcome to the board." in ada.get(ada.board.url).get_data(as_text=True)
    assert "Welcome to the board." not in ada.get(ada.board.url).get_data(as_text=True)


def bob_id():
    return db.session.scalar(db.select(User.id).where(User.email == "bob@example.com"))


def stream_token(page):
    return page.split("/events?token=", 1)[1].split('"', 1)[0]
