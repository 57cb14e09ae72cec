"""The REST API, /api/v1: who may call it, what it answers, and that its changes are the pages' changes."""
import asyncio
import io
import os
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import app_config, card_titles, fresh_app, make_user
from tests.test_live import Browser, run, token_for
from webapp.access import secret_digest
from webapp.extensions import db
from webapp.models import AccessToken, Activity, BoardMember, Card, Label, User, utcnow
from webapp.tokens import SHOWN_LENGTH, new_secret

API = "/api/v1"
PROBLEM = "application/problem+json"


def issue_token(app, email, scope="write", expires_at=None, revoked=False) -> str:
    """A personal access token of the account, as its Access tokens page makes one."""
    secret = new_secret()
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        db.session.add(AccessToken(user_id=user.id, name="Script", token_hash=secret_digest(secret),
                                   prefix=secret[:SHOWN_LENGTH], scope=scope, expires_at=expires_at,
                                   revoked_at=utcnow() if revoked else None))
        db.session.commit()
    return secret


class ApiClient:
    """A script calling the API with a bearer token."""

    def __init__(self, app, secret):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def call(self, method, url, json=None, headers=None, **kwargs):
        return self.client.open(API + url, method=method, json=json, headers={**self.headers, **(headers or {})},
                                **kwargs)

    def get(self, url, **kwargs):
        return self.call("GET", url, **kwargs)


@pytest.fixture
def ada_api(app, ada):
    return ApiClient(app, issue_token(app, "ada@example.com"))


def join(app, board_id, email, role):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        db.session.add(BoardMember(board_id=board_id, user_id=user.id, role=role))
        db.session.commit()


def assert_problem(response, status, detail_part=""):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    assert detail_part in body["detail"]
    return body


# --- Who is calling ------------------------------------------------------------------------

def test_no_credentials_is_401_with_a_bearer_challenge(app, ada):
    response = app.test_client().get(f"{API}/boards")
    assert_problem(response, 401, "Bearer")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer cb_not-a-real-token", "Basic YWRhOnBhc3N3b3Jk"])
def test_an_unknown_token_is_401(app, ada, header):
    response = app.test_client().get(f"{API}/boards", headers={"Authorization": header})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_read_token_reads_but_may_not_write(app, ada):
    reader = ApiClient(app, issue_token(app, "ada@example.com", scope="read"))
    assert reader.get("/boards").status_code == 200
    assert_problem(reader.call("POST", "/boards", json={"title": "New"}), 403, "only read")
    assert reader.get("/boards").get_json()["items"][0]["title"] == "Roadmap"


def test_a_write_token_writes_without_a_csrf_token(app, ada_api):
    response = ada_api.call("POST", "/boards", json={"title": "From a script", "color": "green"})
    assert response.status_code == 201
    assert response.get_json()["title"] == "From a script" and response.get_json()["role"] == "owner"


@pytest.mark.parametrize("kind, detail", [("revoked", "revoked"), ("expired", "expired")])
def test_revoked_and_expired_tokens_are_401_saying_which(app, ada, kind, detail):
    secret = issue_token(app, "ada@example.com", revoked=kind == "revoked",
                         expires_at=utcnow() - timedelta(minutes=1) if kind == "expired" else None)
    response = ApiClient(app, secret).get("/boards")
    assert_problem(response, 401, detail)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_login_reads_and_writes_with_the_csrf_header(app, ada):
    assert ada.get(f"{API}/boards/{ada.board.id}").get_json()["title"] == "Roadmap"
    refused = ada.client.patch(f"{API}/boards/{ada.board.id}", json={"title": "Forged"})
    assert_problem(refused, 403, "CSRF")
    allowed = ada.client.patch(f"{API}/boards/{ada.board.id}", json={"title": "Renamed"},
                               headers={"X-CSRFToken": ada.token})
    assert allowed.status_code == 200 and allowed.get_json()["title"] == "Renamed"


def test_a_non_member_gets_404_everywhere(app, ada, bob):
    bob_api = ApiClient(app, issue_token(app, "bob@example.com"))
    board = ada.board
    for method, url, body in [("GET", f"/boards/{board.id}", None), ("GET", f"/boards/{board.id}/cards", None),
                              ("GET", f"/boards/{board.id}/columns", None),
                              ("POST", f"/boards/{board.id}/cards", {"column_id": board.columns["To do"], "title": "X"}),
                              ("GET", f"/boards/{board.id}/cards/{board.cards['One']}", None),
                              ("DELETE", f"/boards/{board.id}", None)]:
        assert_problem(bob_api.call(method, url, json=body), 404)
    assert bob_api.get("/boards").get_json()["items"] == []


def test_a_viewer_reads_but_gets_403_on_writes(app, ada, bob):
    join(app, ada.board.id, "bob@example.com", "viewer")
    bob_api = ApiClient(app, issue_token(app, "bob@example.com"))
    board = ada.board
    assert bob_api.get(f"/boards/{board.id}/cards").status_code == 200
    card = f"/boards/{board.id}/cards/{board.cards['One']}"
    for method, url, body in [("PATCH", card, {"title": "Mine now"}), ("POST", card + "/archive", None),
                              ("POST", card + "/move", {"column_id": board.columns["Done"], "position": 0}),
                              ("POST", f"/boards/{board.id}/columns", {"title": "Extra"}),
                              ("DELETE", card, None)]:
        assert_problem(bob_api.call(method, url, json=body), 403)
    assert card_titles(app, board.id, "To do") == ["One", "Two", "Three"]


# --- Errors --------------------------------------------------------------------------------

def test_unknown_urls_and_methods_under_api_are_problems_and_pages_stay_html(app, ada_api):
    assert_problem(ada_api.get("/nothing-here"), 404)
    response = ada_api.call("PUT", "/boards")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]
    page = ada_api.client.get("/nothing-here")
    assert page.status_code == 404 and page.content_type.startswith("text/html")


def test_invalid_input_is_422_with_errors_by_field(app, ada_api, ada):
    body = assert_problem(ada_api.call("POST", "/boards", json={"color": "plaid"}), 422)
    assert set(body["errors"]) == {"title", "color"}
    body = assert_problem(ada_api.call("POST", "/boards", json={"title": "   "}), 422)  # the operation's check
    assert body["errors"] == {"title": ["Give it a title."]}
    body = assert_problem(ada_api.get("/boards?limit=0"), 422)
    assert "limit" in body["errors"]
    body = assert_problem(ada_api.get("/boards?cursor=garbage"), 422)
    assert "cursor" in body["errors"]


def test_a_body_too_large_is_413(app, ada_api):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    assert_problem(ada_api.call("POST", "/boards", data="x" * 5000, headers={"Content-Type": "application/json"}), 413)


def test_too_many_changes_is_429_with_retry_after(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'limited.db'}"
    for app in fresh_app(app_config(url, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_CHANGES_PER_USER="3 per minute")):
        with app.app_context():
            make_user("Ada")
        script = ApiClient(app, issue_token(app, "ada@example.com"))
        statuses = [script.call("POST", "/boards", json={"title": f"B{n}"}).status_code for n in range(3)]
        assert statuses == [201] * 3
        response = script.call("POST", "/boards", json={"title": "One too many"})
        assert_problem(response, 429, "Too many changes")
        assert int(response.headers["Retry-After"]) >= 1
        assert script.get("/boards").status_code == 200  # reading goes on


# --- Boards and pagination -----------------------------------------------------------------

def test_boards_crud(app, ada_api):
    created = ada_api.call("POST", "/boards", json={"title": "Launch"}).get_json()
    url = f"/boards/{created['id']}"
    assert ada_api.get(url).get_json() == created
    patched = ada_api.call("PATCH", url, json={"color": "red"}).get_json()
    assert (patched["title"], patched["color"]) == ("Launch", "red")
    columns = ada_api.get(url + "/columns").get_json()["items"]
    assert [column["title"] for column in columns] == ["To do", "Doing", "Done"]
    assert ada_api.call("DELETE", url).status_code == 204
    assert_problem(ada_api.get(url), 404)


def test_pagination_walks_every_board_once_with_link_headers(app, ada_api):
    for number in range(11):
        ada_api.call("POST", "/boards", json={"title": f"Board {number}"})
    seen, url, pages = [], "/boards?limit=5", 0
    while url:
        response = ada_api.get(url)
        body = response.get_json()
        seen += [board["title"] for board in body["items"]]
        pages += 1
        if body["next_cursor"]:
            link = response.headers["Link"]
            assert link.endswith('; rel="next"')
            target = urlsplit(link[1:link.index(">")])
            assert parse_qs(target.query) == {"limit": ["5"], "cursor": [body["next_cursor"]]}
            url = target.path.removeprefix(API) + "?" + target.query
        else:
            assert "Link" not in response.headers
            url = None
    assert pages == 3
    assert seen == ["Roadmap"] + [f"Board {number}" for number in range(11)]


# --- Columns -------------------------------------------------------------------------------

def test_columns_create_patch_move_archive_restore_delete(app, ada_api, ada):
    base = f"/boards/{ada.board.id}/columns"
    review = ada_api.call("POST", base, json={"title": "Review"}).get_json()
    url = f"{base}/{review['id']}"
    patched = ada_api.call("PATCH", url, json={"title": "QA", "wip_limit": 3}).get_json()
    assert (patched["title"], patched["wip_limit"]) == ("QA", 3)
    assert ada_api.call("PATCH", url, json={"wip_limit": 0}).get_json()["wip_limit"] is None
    ada_api.call("POST", url + "/move", json={"position": 0})
    titles = [column["title"] for column in ada_api.get(base).get_json()["items"]]
    assert titles == ["QA", "To do", "Doing", "Done"]
    assert ada_api.call("POST", url + "/archive").get_json()["archived"] is True
    assert [c["title"] for c in ada_api.get(base + "?archived=true").get_json()["items"]] == ["QA"]
    assert ada_api.call("POST", url + "/restore").get_json()["archived"] is False
    assert_problem(ada_api.call("POST", url + "/move", json={"position": -1}), 422)
    assert_problem(ada_api.call("PATCH", url, json={"wip_limit": 5000}), 422)
    # One change: a bad limit keeps the new title from being saved too.
    assert_problem(ada_api.call("PATCH", url, json={"title": "Testing", "wip_limit": 5000}), 422)
    assert ada_api.get(url).get_json()["title"] == "QA"
    with app.app_context():
        verbs = db.session.scalars(select(Activity.verb).where(Activity.board_id == ada.board.id)
                                   .order_by(Activity.id)).all()
    assert verbs.count("column.renamed") == 1 and verbs.count("column.wip_changed") == 2
    assert ada_api.call("DELETE", url).status_code == 204
    assert_problem(ada_api.get(url), 404)


# --- Cards ---------------------------------------------------------------------------------

def test_cards_create_get_patch_archive_restore_delete(app, ada_api, ada):
    base = f"/boards/{ada.board.id}/cards"
    response = ada_api.call("POST", base, json={"column_id": ada.board.columns["Doing"], "title": "Write docs"})
    assert response.status_code == 201
    card = response.get_json()
    assert response.headers["ETag"] == f'"{card["version"]}"'
    url = f"{base}/{card['id']}"
    patched = ada_api.call("PATCH", url, json={"description": "All of it", "due_date": "2030-01-31"}).get_json()
    assert (patched["title"], patched["description"], patched["due_date"]) == ("Write docs", "All of it", "2030-01-31")
    body = assert_problem(ada_api.call("PATCH", url, json={"start_date": "2030-02-01", "due_date": "2030-01-01"}), 422)
    assert "due_date" in body["errors"]
    assert ada_api.call("POST", url + "/archive").get_json()["archived"] is True
    assert card["id"] not in [c["id"] for c in ada_api.get(base).get_json()["items"]]
    assert card["id"] in [c["id"] for c in ada_api.get(base + "?archived=true").get_json()["items"]]
    assert ada_api.call("POST", url + "/restore").get_json()["archived"] is False
    assert ada_api.call("DELETE", url).status_code == 204
    assert_problem(ada_api.get(url), 404)


def test_a_card_in_another_boards_column_is_404(app, ada_api, ada):
    other = ada_api.call("POST", "/boards", json={"title": "Other"}).get_json()
    other_column = ada_api.get(f"/boards/{other['id']}/columns").get_json()["items"][0]["id"]
    assert_problem(ada_api.call("POST", f"/boards/{ada.board.id}/cards",
                                json={"column_id": other_column, "title": "Lost"}), 404)
    assert_problem(ada_api.call("POST", f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}/move",
                                json={"column_id": other_column, "position": 0}), 404)


def test_move_puts_the_card_where_asked(app, ada_api, ada):
    url = f"/boards/{ada.board.id}/cards/{ada.board.cards['Three']}/move"
    moved = ada_api.call("POST", url, json={"column_id": ada.board.columns["To do"], "position": 0})
    assert moved.status_code == 200
    assert card_titles(app, ada.board.id, "To do") == ["Three", "One", "Two"]
    ada_api.call("POST", url, json={"column_id": ada.board.columns["Done"], "position": 0})
    assert card_titles(app, ada.board.id, "Done") == ["Three"]


def test_the_boards_filters_as_query_parameters(app, ada_api, ada):
    with app.app_context():
        ada_user = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        one, two = db.session.get(Card, ada.board.cards["One"]), db.session.get(Card, ada.board.cards["Two"])
        three = db.session.get(Card, ada.board.cards["Three"])
        bug = Label(board_id=ada.board.id, name="Bug", color="red")
        three.labels.append(bug)
        one.due_date = utcnow().date() - timedelta(days=3)
        two.description = "needle in here"
        two.assignees.append(ada_user)
        db.session.commit()
        ada_id, bug_id = ada_user.id, bug.id
    base = f"/boards/{ada.board.id}/cards"

    def titles(query):
        return sorted(card["title"] for card in ada_api.get(f"{base}?{query}").get_json()["items"])
    assert titles("") == ["One", "Three", "Two"]
    assert titles("q=needle") == ["Two"]
    assert titles("due=overdue") == ["One"]
    assert titles("due=none") == ["Three", "Two"]
    assert titles(f"assignee={ada_id}") == ["Two"]
    assert titles(f"label={bug_id}") == ["Three"]
    assert titles(f"label={bug_id}&assignee={ada_id}") == []  # every filter applies, as on the board
    assert_problem(ada_api.get(f"{base}?due=someday"), 422)


def test_card_pagination_walks_every_card_once(app, ada_api, ada):
    base = f"/boards/{ada.board.id}/cards"
    for number in range(7):
        ada_api.call("POST", base, json={"column_id": ada.board.columns["Done"], "title": f"Card {number}"})
    seen, cursor = [], None
    while True:
        body = ada_api.get(f"{base}?limit=3" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [card["id"] for card in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 10


# --- ETag and If-Match ---------------------------------------------------------------------

def test_a_stale_if_match_is_412_with_the_fresh_card_and_changes_nothing(app, ada_api, ada):
    url = f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}"
    etag = ada_api.get(url).headers["ETag"]
    first = ada_api.call("PATCH", url, json={"title": "First edit"}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = ada_api.call("PATCH", url, json={"title": "Stale edit"}, headers={"If-Match": etag})
    body = assert_problem(stale, 412)
    assert body["fresh"]["title"] == "First edit" and f'"{body["fresh"]["version"]}"' == first.headers["ETag"]
    stale_move = ada_api.call("POST", url + "/move", json={"column_id": ada.board.columns["Done"], "position": 0},
                              headers={"If-Match": etag})
    assert_problem(stale_move, 412)
    assert_problem(ada_api.call("DELETE", url, headers={"If-Match": etag}), 412)
    assert ada_api.get(url).get_json()["title"] == "First edit"
    assert card_titles(app, ada.board.id, "Done") == []
    # Without If-Match the change goes through, as a drag on the board does.
    assert ada_api.call("PATCH", url, json={"title": "Last word"}).status_code == 200


# --- Live ----------------------------------------------------------------------------------

def test_a_card_moved_through_the_api_reaches_an_open_board_like_a_page_move(app, ada_api, ada):
    done = ada.board.columns["Done"]

    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        response = await asyncio.to_thread(
            ada_api.call, "POST", f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}/move",
            json={"column_id": done, "position": 0})
        assert response.status_code == 200
        frame = await browser.frame_named("board")
        assert f'hx-swap-oob="beforeend:#cards-{done}"' in frame["data"]
        assert f'id="card-{ada.board.cards["One"]}"' in frame["data"]
        await browser.close()
    run(app, scenario)


# --- The document and its viewer -----------------------------------------------------------

def test_the_openapi_document_and_the_docs_page(app):
    client = app.test_client()
    spec = client.get(f"{API}/openapi.json").get_json()
    assert spec["info"]["title"] == "Corkboard" and spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert f"{API}/boards/{{board_id}}/cards/{{card_id}}/move" in spec["paths"]
    page = client.get(f"{API}/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script>" not in html
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in html and "api-docs.js" in html
    assert f'data-spec-url="{API}/openapi.json"' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


# --- Labels, assignees, checklists, comments, members, invitations, activity -----------------

def test_labels_on_the_board_and_on_a_card(app, ada_api, ada):
    base = f"/boards/{ada.board.id}"
    bug = ada_api.call("POST", f"{base}/labels", json={"name": "Bug", "color": "red"}).get_json()
    assert (bug["name"], bug["color"]) == ("Bug", "red")
    assert_problem(ada_api.call("POST", f"{base}/labels", json={"name": "Bug", "color": "blue"}), 422)
    assert_problem(ada_api.call("POST", f"{base}/labels", json={"name": "X", "color": "plaid"}), 422)
    card = f"{base}/cards/{ada.board.cards['One']}"
    assert ada_api.call("PUT", f"{card}/labels", json={"label_ids": [bug["id"]]}).get_json()["label_ids"] == [bug["id"]]
    assert [c["title"] for c in ada_api.get(f"{base}/cards?label={bug['id']}").get_json()["items"]] == ["One"]
    body = assert_problem(ada_api.call("PUT", f"{card}/labels", json={"label_ids": [999]}), 422)
    assert "label_ids" in body["errors"]
    renamed = ada_api.call("PATCH", f"{base}/labels/{bug['id']}", json={"name": "Defect"}).get_json()
    assert (renamed["name"], renamed["color"]) == ("Defect", "red")
    assert ada_api.call("DELETE", f"{base}/labels/{bug['id']}").status_code == 204
    assert ada_api.get(card).get_json()["label_ids"] == []


def test_assignees_are_members_of_the_board(app, ada_api, ada, bob):
    card = f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}"
    with app.app_context():
        bob_id = db.session.scalar(db.select(User.id).where(User.email == "bob@example.com"))
    assert_problem(ada_api.call("PUT", f"{card}/assignees", json={"user_ids": [bob_id]}), 422)
    join(app, ada.board.id, "bob@example.com", "editor")
    assert ada_api.call("PUT", f"{card}/assignees", json={"user_ids": [bob_id]}).get_json()["assignee_ids"] == [bob_id]
    assert ada_api.get(f"{card}/assignees").get_json()["items"] == [{"id": bob_id, "name": "Bob"}]


def test_checklist_items(app, ada_api, ada):
    checklist = f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}/checklist"
    item = ada_api.call("POST", checklist, json={"text": "Draft"}).get_json()
    ada_api.call("POST", checklist, json={"text": "Review"})
    assert ada_api.call("PATCH", f"{checklist}/{item['id']}", json={"done": True}).get_json()["done"] is True
    assert [(i["text"], i["done"]) for i in ada_api.get(checklist).get_json()["items"]] == [("Draft", True),
                                                                                         ("Review", False)]
    assert_problem(ada_api.call("POST", checklist, json={"text": "  "}), 422)
    assert ada_api.call("DELETE", f"{checklist}/{item['id']}").status_code == 204
    assert_problem(ada_api.call("PATCH", f"{checklist}/{item['id']}", json={"done": False}), 404)


def test_comments_only_their_author_edits(app, ada_api, ada, bob):
    comments = f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}/comments"
    comment = ada_api.call("POST", comments, json={"body": "First!"}).get_json()
    assert comment["author"]["name"] == "Ada"
    edited = ada_api.call("PATCH", f"{comments}/{comment['id']}", json={"body": "First, edited"}).get_json()
    assert edited["body"] == "First, edited" and edited["edited_at"]
    join(app, ada.board.id, "bob@example.com", "editor")
    bob_api = ApiClient(app, issue_token(app, "bob@example.com"))
    assert_problem(bob_api.call("PATCH", f"{comments}/{comment['id']}", json={"body": "Hijacked"}), 403)
    assert_problem(bob_api.call("DELETE", f"{comments}/{comment['id']}"), 403)
    assert [c["body"] for c in bob_api.get(comments).get_json()["items"]] == ["First, edited"]
    assert ada_api.call("DELETE", f"{comments}/{comment['id']}").status_code == 204
    assert ada_api.get(comments).get_json()["items"] == []


def test_members_and_invitations(app, ada_api, ada, bob):
    base = f"/boards/{ada.board.id}"
    join(app, ada.board.id, "bob@example.com", "viewer")
    members = ada_api.get(f"{base}/members").get_json()["items"]
    assert [(m["user"]["name"], m["role"]) for m in members] == [("Ada", "owner"), ("Bob", "viewer")]
    bob_member = members[1]["id"]
    assert ada_api.call("PATCH", f"{base}/members/{bob_member}", json={"role": "editor"}).get_json()["role"] == "editor"
    assert_problem(ada_api.call("PATCH", f"{base}/members/{members[0]['id']}", json={"role": "viewer"}), 409)
    assert_problem(ada_api.call("PATCH", f"{base}/members/{bob_member}", json={"role": "king"}), 422)
    bob_api = ApiClient(app, issue_token(app, "bob@example.com"))
    assert_problem(bob_api.get(f"{base}/invitations"), 403)  # an editor, not an owner
    invitation = ada_api.call("POST", f"{base}/invitations", json={"email": "Cleo@Example.com", "role": "viewer"})
    assert invitation.status_code == 201 and invitation.get_json()["email"] == "cleo@example.com"
    assert_problem(ada_api.call("POST", f"{base}/invitations", json={"email": "bob@example.com"}), 422)
    pending = ada_api.get(f"{base}/invitations").get_json()["items"]
    assert [i["email"] for i in pending] == ["cleo@example.com"]
    assert ada_api.call("DELETE", f"{base}/invitations/{pending[0]['id']}").status_code == 204
    assert ada_api.get(f"{base}/invitations").get_json()["items"] == []
    assert ada_api.call("DELETE", f"{base}/members/{bob_member}").status_code == 204
    assert_problem(bob_api.get(base), 404)


def test_activity_newest_first_walks_every_entry_once(app, ada_api, ada):
    base = f"/boards/{ada.board.id}"
    for number in range(5):
        ada_api.call("POST", f"{base}/columns", json={"title": f"Column {number}"})
    seen, cursor = [], None
    while True:
        body = ada_api.get(f"{base}/activity?limit=2" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [entry["details"]["column"] for entry in seen] == [f"Column {n}" for n in reversed(range(5))]
    assert {entry["verb"] for entry in seen} == {"column.created"} and seen[0]["actor"]["name"] == "Ada"
    assert len({entry["id"] for entry in seen}) == 5


def test_attachments_upload_download_and_remove(app, ada_api, ada, bob):
    attachments = f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}/attachments"
    response = ada_api.call("POST", attachments, content_type="multipart/form-data",
                            data={"files": [(io.BytesIO(b"<script>alert(1)</script>"), "notes.html"),
                                            (io.BytesIO(b"plain words"), "notes.txt")]})
    assert response.status_code == 201, response.get_data(as_text=True)
    html_file, text_file = response.get_json()["items"]
    assert (html_file["filename"], text_file["size"]) == ("notes.html", 11)
    download = ada_api.client.get(html_file["download_url"], headers=ada_api.headers)
    assert download.status_code == 200 and download.data == b"<script>alert(1)</script>"
    assert not download.content_type.startswith("text/html")  # never a page of ours
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert "private" in download.headers["Cache-Control"]
    assert [a["filename"] for a in ada_api.get(attachments).get_json()["items"]] == ["notes.html", "notes.txt"]
    assert_problem(ada_api.call("POST", attachments, content_type="multipart/form-data", data={}), 422)
    join(app, ada.board.id, "bob@example.com", "viewer")
    bob_api = ApiClient(app, issue_token(app, "bob@example.com"))
    assert bob_api.client.get(text_file["download_url"], headers=bob_api.headers).data == b"plain words"
    assert_problem(bob_api.call("DELETE", text_file["download_url"].removeprefix(API)), 403)
    assert ada_api.call("DELETE", text_file["download_url"].removeprefix(API)).status_code == 204
    assert_problem(ada_api.client.get(text_file["download_url"], headers=ada_api.headers), 404)


def test_an_upload_past_the_size_allowed_is_413(app, ada_api, ada):
    app.config["MAX_ATTACHMENT_SIZE"] = 10
    attachments = f"/boards/{ada.board.id}/cards/{ada.board.cards['One']}/attachments"
    response = ada_api.call("POST", attachments, content_type="multipart/form-data",
                            data={"files": [(io.BytesIO(b"x" * 100), "big.bin")]})
    assert_problem(response, 413)
    assert ada_api.get(attachments).get_json()["items"] == []


def test_concurrent_moves_through_the_api_all_go_through_promptly(app, ada_api, ada):
    """Four scripts moving cards on one board at once: none waits out the database's busy timeout."""
    cards = list(ada.board.cards.values())
    columns = list(ada.board.columns.values())
    statuses = []

    def mover(offset):
        for step in range(5):
            response = ada_api.call("POST", f"/boards/{ada.board.id}/cards/{cards[(offset + step) % 3]}/move",
                                    json={"column_id": columns[(offset + step) % 3], "position": 0})
            statuses.append(response.status_code)
    started = time.monotonic()
    threads = [threading.Thread(target=mover, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    assert time.monotonic() - started < 4  # a lock-order wait would cost the 5 s busy timeout
    assert sum(len(card_titles(app, ada.board.id, title)) for title in ada.board.columns) == 3
