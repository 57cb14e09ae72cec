"""Schemathesis against the running app (Hypercorn, over HTTP) and its own OpenAPI document:
whatever it is sent, no 5xx, and every answer is what the document says (status, content type, body)."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.conftest import app_config, fresh_app, make_board, make_user
from tests.servers import Server
from tests.test_api import issue_token
from webapp.extensions import db
from webapp.models import ChecklistItem, Comment, Label

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """An app with Ada's board "Roadmap" (a label, a checklist item, a comment) and a write token of hers."""
    tmp_path = tmp_path_factory.mktemp("schema")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'schema.db'}"
    for app in fresh_app(app_config(url, tmp_path)):
        with app.app_context():
            ada = make_user("Ada")
            board = make_board(ada)
            card = board.columns[0].cards[0]
            label = Label(board_id=board.id, name="Bug", color="red")
            item = ChecklistItem(card_id=card.id, text="Draft", position="m")
            comment = Comment(card_id=card.id, author_id=ada.id, body="Hello")
            db.session.add_all([label, item, comment])
            db.session.commit()
            ids = {"board_id": board.id, "column_id": board.columns[0].id, "card_id": card.id, "label_id": label.id,
                   "item_id": item.id, "comment_id": comment.id, "member_id": board.members[0].id}
        yield app, ids, issue_token(app, "ada@example.com")


@pytest.fixture(scope="module")
def api_schema(seeded, tmp_path_factory):
    """The document as the running server gives it; the calls go to that server."""
    app, _, _ = seeded
    server = Server({"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "schema-secret",
                     "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("schema-uploads")),
                     "RATELIMIT_CHANGES_PER_USER": "1000000 per minute", "REDIS_URL": ""})
    try:
        yield schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    finally:
        server.stop()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_document(case, seeded):
    _, ids, token = seeded
    # Most calls aim at the real board, so they reach the handlers and not only the 404s.
    if case.path_parameters and not (case.method == "DELETE" and case.path.endswith("{board_id}")):
        for name, value in ids.items():
            if name in case.path_parameters and hash((case.method, case.path, str(case.body))) % 4:
                case.path_parameters[name] = value
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
