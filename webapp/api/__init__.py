"""The REST API, /api/v1: flask-smorest blueprints over the board operations.

Handlers load and authorize through webapp/access.py with the caller as the actor
(webapp/api/auth.py), call the operations in webapp/operations/, and only choose the JSON
they answer with. The OpenAPI document is at /api/v1/openapi.json, its viewer at /api/v1/docs.
"""
from http import HTTPStatus

from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..extensions import csrf
from .problems import PROBLEM_JSON

PREFIX = "/api/v1"


class CorkboardApi(Api):
    """Its error responses are documented as what they are: application/problem+json."""

    def _register_responses(self):
        from .schemas import ProblemSchema
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = ProblemSchema
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def init_app(app) -> None:
    app.config.setdefault("API_TITLE", "Corkboard")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "security": [{"bearer": []}],
        "info": {"description": "Corkboard's boards and everything on them. Authenticate with a personal access "
                               "token (`Authorization: Bearer cb_…`, made on your account's Access tokens page)."},
    })
    api = CorkboardApi(app)  # one per app: each keeps its own OpenAPI document
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from . import activity, assignees, attachments, boards, cards, checklists, columns, comments, docs, labels, members
    for blueprint in (boards.blp, columns.blp, cards.blp, labels.blp, assignees.blp, checklists.blp, comments.blp,
                      attachments.blp, members.blp, activity.blp):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=PREFIX)
    app.register_blueprint(docs.bp)
