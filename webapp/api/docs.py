"""/api/v1/docs: the OpenAPI document in Swagger UI (swagger-ui-dist, pinned in package.json,
copied into static/vendor/swagger-ui/ at set-up by the Makefile).

The page runs no inline script (the CSP allows none): static/api-docs.js starts the viewer,
reading the document's address from the page.
"""
from flask import Blueprint, url_for
from markupsafe import escape

bp = Blueprint("api_docs_page", __name__)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Corkboard API</title>
<link rel="icon" href="{favicon}">
<link rel="stylesheet" href="{css}">
</head>
<body>
<noscript>The API reference needs JavaScript. The OpenAPI document itself is at <a href="{spec}">{spec}</a>.</noscript>
<div id="api-docs" data-spec-url="{spec}"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


@bp.get("/api/v1/docs")
def docs_page():
    def static(filename: str) -> str:
        return str(escape(url_for("static", filename=filename)))
    return PAGE.format(favicon=static("favicon.svg"), css=static("vendor/swagger-ui/swagger-ui.css"),
                       bundle=static("vendor/swagger-ui/swagger-ui-bundle.js"), init=static("api-docs.js"),
                       spec=escape(url_for("api-docs.openapi_json")))
