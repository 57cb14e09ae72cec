"""Authorization and CSRF on every route, enumerated from the URL map so new routes are covered."""
import io
import json
import re

import pytest
from PIL import Image

from webapp import storage
from webapp.extensions import db
from webapp.models import Attachment, BoardMember, Card, ChecklistItem, Comment, Invitation, Label, User
from tests.conftest import UserClient, make_user

MUTATIONS = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = {"static", "main.index", "main.healthz", "main.readyz", "main.favicon", "auth.login", "auth.signup",
          "auth.forgot_password", "auth.reset_password", "auth.confirm_signup", "members.invitation",
          "feeds.my_cards", "feeds.board"}  # calendar feeds: their secret address is the key


OWNER_ONLY = {"boards.edit", "boards.rename", "boards.delete", "boards.delete_form", "members.change_role",
              "members.remove", "members.invite", "members.revoke"} | {f"webhooks.{view}" for view in ("index", "create", "edit", "save", "enable", "disable", "delete_form", "delete", "send_test")}  # a hook's secret too
ANY_MEMBER_MAY = {"members.leave"}  # the one change a viewer can make
AUTHOR_ONLY = {"comments.edit_form", "comments.edit", "comments.delete"}  # the comment is Ada's
AUTHOR_ONLY = {"comments.edit_form", "comments.edit", "comments.delete"}  # the comment is Ada's


@pytest.fixture(autouse=True)
def board_with_everything(app, ada):
    """Ada's board with one of each thing a URL can name: a label, a checklist item, a comment..."""
    with app.app_context():
        card = db.session.get(Card, ada.board.cards["One"])
        label = Label(board_id=ada.board.id, name="Bug", color="red")
        item = ChecklistItem(card_id=card.id, text="Step", position="i")
        owner = db.session.get(User, card.board.owner_id)
        comment = Comment(card_id=card.id, author_id=owner.id, body="Hello")
        png = io.BytesIO()
        Image.new("RGB", (40, 30), "teal").save(png, "PNG")
        png.seek(0)
        blob = storage.save(png)
        attachment = Attachment(card_id=card.id, uploader_id=owner.id, filename="sketch.png", sha256=blob.sha256,
                                content_type="image/png", size=blob.size, is_image=True)
        invitation = Invitation(board_id=ada.board.id, email="guest@example.com", role="viewer",
                                invited_by_id=owner.id)
        db.session.add_all([label, item, comment, attachment, invitation])
        db.session.commit()
        member_id = db.session.scalar(db.select(BoardMember.id).where(BoardMember.user_id == owner.id))
        ada.board.extra_ids.update(label_id=label.id, item_id=item.id, comment_id=comment.id,
                                   attachment_id=attachment.id, invitation_id=invitation.id, member_id=member_id)


def member(app, ada, name, role):
    with app.app_context():
        user = make_user(name)
        db.session.add(BoardMember(board_id=ada.board.id, user_id=user.id, role=role))
        db.session.commit()
    return UserClient(app, f"{name.lower()}@example.com")


def page_rules(app):
    """Every rule but the REST API's: it answers 401 with a bearer challenge, not a login page,
    and a forgery 403 as problem+json (tests/test_api.py checks those)."""
    return [rule for rule in app.url_map.iter_rules() if not rule.rule.startswith("/api/")]


def board_routes(app):
    for rule in page_rules(app):
        if "board_id" in rule.arguments and rule.endpoint not in PUBLIC:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def build(rule, board):
    values = {"board_id": board.id, "column_id": board.columns["To do"], "card_id": board.cards["One"],
              "token_id": 1, "secret": "x", "token": "x", "hook_id": 1,  # a token, a feed, a CSV preview, a webhook
              **board.extra_ids}
    unknown = rule.arguments - values.keys()
    assert not unknown, f"teach this test the URL argument(s) {unknown} of {rule.rule}"
    return rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]


def test_every_board_route_is_404_for_a_non_owner(app, ada, bob):
    routes = list(board_routes(app))
    assert len(routes) >= 15
    for rule, method in routes:
        url = build(rule, ada.board)
        response = bob.hx(method, url, {"title": "Mine now", "column_id": ada.board.columns["Done"], "position": 0})
        assert response.status_code == 404, f"{method} {url} answered {response.status_code} to a stranger"
        plain = bob.form(method, url, {"title": "Mine now"}) if method in MUTATIONS else bob.get(url)
        assert plain.status_code == 404, f"{method} {url} (no JS) answered {plain.status_code}"
    # Nothing changed for the owner.
    assert "Mine now" not in ada.get(ada.board.url).get_data(as_text=True)


def test_every_board_route_needs_login(app, ada):
    anonymous = app.test_client()
    for rule, method in board_routes(app):
        url = build(rule, ada.board)
        response = anonymous.open(url, method=method)
        assert response.status_code in (302, 400), f"{method} {url} answered {response.status_code}"
        if response.status_code == 302:
            assert response.location.startswith("/login?next=")


def test_every_non_public_endpoint_needs_login(app, ada):
    anonymous = app.test_client()
    for rule in page_rules(app):
        if rule.endpoint in PUBLIC or "GET" not in rule.methods:
            continue
        url = build(rule, ada.board)
        assert anonymous.get(url).status_code == 302, f"GET {url} is reachable without login"


@pytest.mark.parametrize("with_htmx", [True, False])
def test_every_mutation_without_csrf_token_is_400(app, ada, with_htmx):
    for rule in page_rules(app):
        for method in sorted(rule.methods & MUTATIONS):
            url = build(rule, ada.board)
            headers = {"HX-Request": "true"} if with_htmx else {}
            response = ada.client.open(url, method=method, data={"title": "Forged"}, headers=headers)
            assert response.status_code == 400, f"{method} {url} accepted a request without CSRF token"
            assert "security token is missing" in response.get_data(as_text=True)
    assert "Forged" not in ada.get(ada.board.url).get_data(as_text=True)


def test_csrf_error_for_htmx_goes_to_the_error_area(ada):
    response = ada.client.patch(ada.board.url, data={"title": "x"}, headers={"HX-Request": "true"})
    assert response.headers["HX-Retarget"] == "#errors"
    assert "Reload the page" in response.get_data(as_text=True)


def test_unknown_ids_are_404(ada):
    for url in ("/boards/999999", f"{ada.board.url}/cards/999999", f"{ada.board.url}/columns/999999/edit",
                f"{ada.board.url}/cards/999999/move"):
        response = ada.get(url)
        assert response.status_code == 404 and "No such" in response.get_data(as_text=True)
    assert ada.hx("DELETE", f"{ada.board.url}/cards/999999").status_code == 404


def test_wrong_verb_is_405_with_a_message(ada):
    response = ada.hx("DELETE", "/boards/")
    assert response.status_code == 405
    assert "That action is not possible here." in response.get_data(as_text=True)
    assert "GET" in response.headers["Allow"]


def test_method_override_only_applies_to_post(app, ada):
    response = ada.get(f"{ada.board.url}?_method=DELETE")
    assert response.status_code == 200
    assert "Roadmap" in ada.get("/boards/").get_data(as_text=True)


def ordered(routes):
    """Reads first, deletions last, so each request finds what it names."""
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}
    # Deeper things are deleted before what holds them (a comment before its card, a card before its column).
    return sorted(routes, key=lambda route: (order[route[1]], -route[0].rule.count("/"),
                                             route[0].endpoint == "columns.delete"))


def test_a_viewer_reads_everything_and_changes_nothing(app, ada):
    vera = member(app, ada, "Vera", "viewer")
    for rule, method in ordered(board_routes(app)):
        if rule.endpoint in ANY_MEMBER_MAY:
            continue  # leaving works for anyone (tests/test_members.py); here Vera stays
        url = build(rule, ada.board)
        response = vera.hx(method, url, {"title": "Viewer was here", "position": 0})
        if method == "GET" and (rule.endpoint.endswith(".edit") or rule.endpoint.endswith("_form")):
            assert response.status_code == 403, f"GET {url} (a form to change things) answered a viewer"
        elif method == "GET" and rule.endpoint not in OWNER_ONLY:
            assert response.status_code not in (403, 404), f"GET {url} answered {response.status_code} to a viewer"
        else:
            assert response.status_code == 403, f"{method} {url} answered {response.status_code} to a viewer"
            assert "Viewers can look" in response.get_data(as_text=True) or "owners" in response.get_data(as_text=True)
    assert "Viewer was here" not in ada.get(ada.board.url).get_data(as_text=True)


def test_a_viewer_sees_no_editing_controls(app, ada):
    vera = member(app, ada, "Vera", "viewer")
    page = vera.get(ada.board.url).get_data(as_text=True)
    assert 'class="board read-only"' in page  # the shared fragments' editing controls are hidden
    assert "Delete board" not in page and 'hx-get="/boards/' + str(ada.board.id) + '/edit"' not in page
    detail = vera.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    assert "Save" not in detail and "Delete card" not in detail and "Archive card" not in detail


def test_an_editor_changes_cards_but_not_the_board_itself(app, ada):
    ed = member(app, ada, "Ed", "editor")
    for rule, method in ordered(board_routes(app)):
        if rule.endpoint in ANY_MEMBER_MAY:
            continue
        url = build(rule, ada.board)
        response = ed.hx(method, url, {"title": "Edited", "position": 0, "column_id": ada.board.columns["Done"]})
        if rule.endpoint in OWNER_ONLY | AUTHOR_ONLY:
            assert response.status_code == 403, f"{method} {url} answered {response.status_code} to an editor"
        else:
            assert response.status_code != 403, f"{method} {url} refused an editor"


# --- what every response tells the browser -----------------------------------------------------

def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        if part.strip():
            name, *values = part.split()
            directives[name] = values
    return directives


def assert_locked_down(response, what):
    csp = csp_directives(response)
    assert csp.get("script-src") == ["'self'"], f"{what}: script-src {csp.get('script-src')}"
    assert csp.get("style-src") == ["'self'"], f"{what}: style-src {csp.get('style-src')}"
    assert csp.get("frame-ancestors") == ["'none'"], what
    assert csp.get("object-src") == ["'none'"] and csp.get("base-uri") == ["'self'"], what
    assert csp.get("form-action") == ["'self'"] and csp.get("connect-src") == ["'self'"], what
    assert csp.get("img-src") == ["'self'", "data:"], what
    assert response.headers["X-Content-Type-Options"] == "nosniff", what
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer"), what
    assert "Strict-Transport-Security" not in response.headers, f"{what}: HSTS over plain HTTP"


def test_every_page_fragment_error_and_redirect_is_locked_down(app, ada):
    anonymous = app.test_client()
    responses = {
        "login page": anonymous.get("/login"),
        "signup page": anonymous.get("/signup"),
        "redirect to login": anonymous.get(ada.board.url),
        "board page": ada.get(ada.board.url),
        "card fragment": ada.hx("GET", ada.board.card_url("One")),
        "404 page": ada.get("/boards/999999"),
        "404 fragment": ada.hx("GET", "/boards/999999"),
        "422 fragment": ada.hx("POST", f"{ada.board.url}/columns/", {"title": ""}),
        "405": ada.hx("DELETE", "/boards/"),
        "csrf 400": ada.client.patch(ada.board.url, data={"title": "x"}, headers={"HX-Request": "true"}),
        "static file": anonymous.get("/static/app.js"),
        "health": anonymous.get("/healthz"),
    }
    for what, response in responses.items():
        assert_locked_down(response, what)


def test_an_unexpected_error_page_is_locked_down_too(app, ada, monkeypatch):
    from webapp import boards
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(boards, "render_template", broken)
    response = ada.get("/boards/")
    assert response.status_code == 500
    assert_locked_down(response, "500 page")


def test_the_reset_link_page_keeps_its_stricter_referrer_policy(app):
    response = app.test_client().get("/reset-password?token=nonsense")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_an_attachment_keeps_its_own_sandbox_policy(ada):
    url = f"{ada.board.url}/attachments/{ada.board.extra_ids['attachment_id']}"
    response = ada.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https(app):
    client = app.test_client()
    secure = client.get("/login", base_url="https://corkboard.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_hsts_behind_a_proxy_that_ends_tls(app):
    app.config["PUBLIC_URL"] = "https://corkboard.example"
    assert app.test_client().get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<(style\b|[a-z][^>]*\sstyle\s*=)", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_no_page_or_fragment_needs_what_the_policy_forbids(app, ada):
    """Every GET a member can make, as a page and as a fragment, and the error fragment: no inline
    script, event handler, style or javascript: URL, which the Content-Security-Policy would block."""
    checked = 0
    for rule in page_rules(app):
        if "GET" not in rule.methods or rule.endpoint in ("static", "attachments.download", "attachments.thumbnail"):
            continue
        url = build(rule, ada.board)
        for response in (ada.get(url), ada.hx("GET", url)):
            if "text/html" not in response.content_type:
                continue
            html = response.get_data(as_text=True)
            for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE, JS_URL):
                match = pattern.search(html)
                assert not match, f"GET {url} ({response.status_code}) has {match.group(0)!r}"
            checked += 1
    errors = ada.hx("GET", "/boards/999999").get_data(as_text=True)
    assert "Dismiss" in errors and not INLINE_HANDLER.search(errors)
    assert checked >= 30


def test_htmx_is_configured_to_work_within_the_policy(ada):
    """htmx would otherwise inject a <style> for indicators and evaluate hx-on/js: code."""
    html = ada.get(ada.board.url).get_data(as_text=True)
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1))
    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert "style" not in config["attributesToSettle"]  # settling would set style attributes


def test_the_live_stream_answers_with_nosniff_too(app, ada):
    """The stream is served beside Flask (webapp/asgi.py), so it sets its own headers."""
    from tests.test_live import Browser, run, token_for

    async def scenario(streams):
        for token in (token_for(app, "ada@example.com", ada.board.id), "forged"):
            browser = Browser(streams, ada.board.id, token)
            start_seen = []
            original = browser.send

            async def send(message, original=original):
                if message["type"] == "http.response.start":
                    start_seen.append(dict(message["headers"]))
                await original(message)
            browser.send = send
            await browser.open()
            assert start_seen[0][b"x-content-type-options"] == b"nosniff", browser.status
            if browser.status == 200:
                await browser.close()
    run(app, scenario)


def test_a_form_field_without_a_name_is_a_400_not_a_500(ada):
    """A CR in a multipart field name breaks its header line, and the part arrives nameless."""
    boundary = "xyz"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"\r\"\r\n\r\nvalue\r\n"
            f"--{boundary}--\r\n").encode()
    for who in (ada.client, ada.app.test_client()):
        response = who.post(ada.board.card_url("One") + "/attachments", data=body,
                            content_type=f"multipart/form-data; boundary={boundary}",
                            headers={"X-CSRFToken": ada.token})
        assert response.status_code == 400
        assert "has no name" in response.get_data(as_text=True)


def test_the_site_icon_is_served(app):
    client = app.test_client()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/login").get_data(as_text=True)
