"""Authorization and CSRF on every route, enumerated from the URL map so new routes are covered."""
import pytest

MUTATIONS = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = {"static", "main.index", "main.healthz", "auth.login", "auth.signup"}


def board_routes(app):
    for rule in app.url_map.iter_rules():
        if "board_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def build(rule, board):
    values = {"board_id": board.id, "column_id": board.columns["To do"], "card_id": board.cards["One"]}
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
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or "GET" not in rule.methods:
            continue
        url = build(rule, ada.board)
        assert anonymous.get(url).status_code == 302, f"GET {url} is reachable without login"


@pytest.mark.parametrize("with_htmx", [True, False])
def test_every_mutation_without_csrf_token_is_400(app, ada, with_htmx):
    for rule in app.url_map.iter_rules():
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
