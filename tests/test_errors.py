import pytest
from sqlalchemy import event

from webapp import create_app
from webapp.extensions import db
from tests.conftest import card_titles


def test_404_page_for_browsers(ada):
    response = ada.get("/boards/424242")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "<html" in html and "No such board." in html


def test_404_as_json_for_json_clients(ada):
    response = ada.get("/boards/424242", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json == {"error": 404, "message": "No such board."}


def test_404_as_fragment_for_htmx(ada):
    response = ada.hx("GET", "/boards/424242")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "<html" not in html and "No such board." in html
    assert response.headers["HX-Retarget"] == "#errors"


def test_too_large_body_is_413_with_a_message(app, ada):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "x" * 2000})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_failure_half_way_saves_nothing_and_says_so(app, ada):
    """A database error during a mutation: 500 with a message, the transaction rolled back."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def fail_on_card_update(session, flush_context, instances):
        for obj in session.dirty:
            if getattr(obj, "title", None) == "Half written":
                raise RuntimeError("disk full")

    with app.app_context():
        event.listen(db.session, "before_flush", fail_on_card_update)
        try:
            response = ada.hx("PUT", ada.board.card_url("One"), {"title": "Half written", "description": "d"})
        finally:
            event.remove(db.session, "before_flush", fail_on_card_update)
    assert response.status_code == 500
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]
    # The app still works afterwards.
    assert ada.hx("PUT", ada.board.card_url("One"), {"title": "Fine"}).status_code == 200


def test_failure_after_the_commit_says_the_change_was_saved(app, ada, monkeypatch):
    """A change that was committed must not be reported as lost: a retry would make it twice."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    from webapp import cards

    def broken_render(*args, **kwargs):
        raise RuntimeError("template blew up")

    monkeypatch.setattr(cards, "updated", broken_render)
    response = ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Saved anyway"})
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Your change was saved" in html and "Nothing was saved" not in html
    assert card_titles(app, ada.board.id, "Doing") == ["Saved anyway"]


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_debug_mode_gets_a_development_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert create_app().config["SECRET_KEY"]


def test_postgres_urls_get_the_psycopg_driver(monkeypatch):
    from webapp.config import database_url
    monkeypatch.setenv("DATABASE_URL", "postgres://u@localhost/db")
    assert database_url() == "postgresql+psycopg://u@localhost/db"
    monkeypatch.delenv("DATABASE_URL")
    assert database_url().startswith("sqlite:///") and database_url().endswith("instance/corkboard.db")


# --- ids no row can have: 404 in a path, 422 in a query or form, never 500 ----------------------

# Ids are INTEGER columns: 32 bits on PostgreSQL, 64 on SQLite; beyond either is no id.
HUGE = [str(2**31), "9223372036854775808", "18446744073709551616", "9" * 30, "1" + "0" * 5000]
HUGE_IDS = ["2**31", "2**63", "2**64", "30 digits", "5001 digits"]


@pytest.fixture
def strict(app):
    """A crash is a 500 answer here, as it would be in production, not an exception in the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False


@pytest.mark.parametrize("number", HUGE, ids=HUGE_IDS)
def test_a_huge_id_in_a_path_is_404_for_everyone(app, ada, bob, strict, number):
    card, column = ada.board.cards["One"], ada.board.columns["To do"]
    for path in (f"/boards/{number}", f"/boards/{number}/activity", f"{ada.board.url}/cards/{number}",
                 f"{ada.board.url}/columns/{number}/edit", f"/boards/{number}/cards/{card}",
                 f"{ada.board.url}/attachments/{number}", f"{ada.board.url}/cards/{card}/comments/{number}",
                 f"{ada.board.url}/columns/{column}/cards"):
        for client in (ada, bob):
            assert client.get(path).status_code in (404, 405), path
    assert ada.hx("DELETE", f"{ada.board.url}/cards/{number}").status_code == 404
    assert ada.hx("PATCH", f"{ada.board.url}/cards/{number}/move", {"column_id": column, "position": 0}).status_code == 404
    assert app.test_client().get(f"/boards/{number}").status_code == 302  # to log in, as for any board


def test_the_largest_real_id_is_still_an_id(ada, strict):
    response = ada.get(f"/boards/{2**31 - 1}")
    assert response.status_code == 404 and "No such board." in response.get_data(as_text=True)


@pytest.mark.parametrize("number", HUGE, ids=HUGE_IDS)
def test_a_huge_id_in_a_query_is_422_with_a_message(ada, strict, number):
    card_url = ada.board.card_url("One")
    for url in (f"{ada.board.url}/activity?before={number}", f"{card_url}/activity?before={number}",
                f"{ada.board.url}?label={number}", f"{ada.board.url}?assignee={number}"):
        for response in (ada.get(url), ada.hx("GET", url)):
            assert response.status_code == 422, url
            assert "must be a whole number" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["²", "٣", "１２"])
def test_unicode_digits_in_a_filter_are_not_ids(ada, strict, value):
    """str.isdigit() says yes to these, int() does not (or reads another number)."""
    response = ada.get(f"{ada.board.url}?label={value}&assignee={value}")
    assert response.status_code == 200 and "One" in response.get_data(as_text=True)


def test_a_garbage_before_is_422(ada, strict):
    for value in ("-3", "abc", "٣"):
        assert ada.get(f"{ada.board.url}/activity?before={value}").status_code == 422


@pytest.mark.parametrize("number", HUGE, ids=HUGE_IDS)
def test_a_huge_column_in_a_move_is_422_and_moves_nothing(app, ada, strict, number):
    response = ada.hx("PATCH", f"{ada.board.card_url('One')}/move", {"column_id": number, "position": 0})
    assert response.status_code == 422
    assert "no such column" in response.get_data(as_text=True).lower() or "Not a valid" in response.get_data(as_text=True)
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]


@pytest.mark.parametrize("field", ["labels", "assignees"])
def test_a_huge_id_among_ticked_choices_is_422(ada, strict, field):
    response = ada.hx("PUT", f"{ada.board.card_url('One')}/{field}", {field: HUGE[0]})
    assert response.status_code == 422


def test_a_huge_position_goes_to_the_end(app, ada, strict):
    response = ada.hx("PATCH", f"{ada.board.card_url('One')}/move",
                      {"column_id": ada.board.columns["To do"], "position": HUGE[0]})
    assert response.status_code == 200
    assert card_titles(app, ada.board.id, "To do") == ["Two", "Three", "One"]


@pytest.mark.parametrize("last", ["%C2%B2", "%D9%A3", "9" * 30])
def test_an_odd_last_event_id_on_the_stream_is_ignored_not_a_crash(app, ada, last):
    """`?last=²`: str.isdigit() says yes, int() says no; the stream opens as if none was given."""
    from tests.test_live import Browser, run, token_for

    async def scenario(streams):
        browser = Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id))
        browser.scope["query_string"] += f"&last={last}".encode()
        await browser.open()
        assert browser.status == 200
        await browser.close()
        assert not browser.task.cancelled() and browser.task.exception() is None
    run(app, scenario)


@pytest.mark.parametrize("method, path, data", [
    ("POST", "/columns/{column}/cards", {"title": "a\x00b"}),
    ("PUT", "/cards/{card}", {"title": "One", "description": "x\x00"}),
    ("POST", "/labels", {"name": "Bug\x00", "color": "red"}),
    ("POST", "/cards/{card}/comments", {"body": "hi\x00"}),
    ("GET", "?q=a%00b", None),
    ("GET", "/activity?x%00=1", None),
])
def test_a_nul_character_is_refused_with_422(app, ada, strict, method, path, data):
    """PostgreSQL refuses U+0000 in text (a 500 at the commit); SQLite would keep it."""
    url = ada.board.url + path.format(column=ada.board.columns["To do"], card=ada.board.cards["One"])
    response = ada.hx(method, url, data)
    assert response.status_code == 422
    assert "NUL character" in response.get_data(as_text=True)
    assert "\x00" not in ada.get(ada.board.url).get_data(as_text=True)
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]
