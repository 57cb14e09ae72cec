"""Session cookies are checked once per process (webapp/sessions.py): what a request gets is
still only ever what a genuine, unexpired cookie holds, and its own copy of it."""
import time
from datetime import timedelta

from flask import request


def session_cookie(user) -> str:
    return user.client.get_cookie("session").value


def open_session(app, cookie):
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}):
        return app.session_interface.open_session(app, request)


def test_each_request_gets_its_own_copy_of_the_session(app, ada):
    with ada.client.session_transaction() as session:
        session["_flashes"] = [("info", "Shown once.")]
    cookie = session_cookie(ada)
    first = open_session(app, cookie)
    first["_flashes"].append(("info", "Only for the first request."))  # in place, as flash() does
    first["csrf_token"] = "changed"
    second = open_session(app, cookie)
    assert second["_user_id"] == first["_user_id"]
    assert second["_flashes"] == [("info", "Shown once.")] and second["csrf_token"] != "changed"


def test_a_tampered_cookie_is_refused_after_the_genuine_one_was_seen(app, ada):
    cookie = session_cookie(ada)
    assert ada.get("/boards/").status_code == 200
    tampered = cookie[:-3] + ("abc" if not cookie.endswith("abc") else "xyz")
    client = app.test_client()
    client.set_cookie("session", tampered)
    response = client.get("/boards/")
    assert response.status_code == 302 and "/login" in response.location


def test_an_expired_cookie_is_refused_though_it_was_seen(app, ada, monkeypatch):
    cookie = session_cookie(ada)
    assert open_session(app, cookie).get("_user_id")
    app.permanent_session_lifetime = timedelta(hours=1)
    later = time.time() + 2 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert not open_session(app, cookie).get("_user_id")
