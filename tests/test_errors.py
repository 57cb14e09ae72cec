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
