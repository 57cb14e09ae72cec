"""Request ids, the log's lines (JSON or text) and what a proxy's X-Forwarded-* headers may change."""
import json
import logging
from urllib.parse import quote

import pytest
from flask import url_for

from webapp import create_app, logs
from tests.conftest import app_config


@pytest.fixture
def json_app(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, LOG_FORMAT="json"))

    @app.get("/test/log")
    def log_something():
        logging.getLogger("webapp.test").warning("inside the view")
        return "logged"
    yield app
    logs.configure()  # back to the plain text of the other tests


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]


def get(app, path, **headers):
    with app.test_client().get(path, headers=headers) as response:  # closing it ends its access line
        return response


def test_every_response_has_a_fresh_request_id(app):
    first, second = get(app, "/healthz"), get(app, "/login")
    assert len(first.headers["X-Request-Id"]) == 32
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    assert "X-Request-Id" in get(app, "/no/such/page").headers


def test_a_sane_incoming_request_id_comes_back(app):
    assert get(app, "/healthz", **{"X-Request-Id": "f3a9c2e1-nginx.42"}).headers["X-Request-Id"] == "f3a9c2e1-nginx.42"


@pytest.mark.parametrize("hostile", ['a" "b', "x" * 129, "<script>", "id; rm -rf", "é", ""])
def test_a_hostile_incoming_request_id_is_replaced(app, hostile):
    answered = get(app, "/healthz", **{"X-Request-Id": hostile}).headers["X-Request-Id"]
    assert answered != hostile and logs.SANE_REQUEST_ID.fullmatch(answered)


def test_a_record_made_in_a_view_carries_the_request_id(json_app, capsys):
    response = get(json_app, "/test/log", **{"X-Request-Id": "trace-1"})
    assert response.headers["X-Request-Id"] == "trace-1"
    lines = log_lines(capsys)
    [inside] = [line for line in lines if line["message"] == "inside the view"]
    assert inside["request_id"] == "trace-1" and inside["level"] == "WARNING" and inside["logger"] == "webapp.test"
    [access] = [line for line in lines if line["logger"] == "webapp.access"]
    assert access["request_id"] == "trace-1"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/test/log", 200)
    assert isinstance(access["duration_ms"], float) and access["time"].endswith("+00:00")


def test_every_json_line_parses_whatever_the_path_says(json_app, capsys):
    hostile = '/boards/1"}\n{"level": "CRITICAL", "message": "forged\u2028\x1b[31m'
    response = get(json_app, quote(hostile), **{"X-Request-Id": 'x"\\y'})
    assert response.status_code == 404
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is one object
    [access] = [line for line in lines if line["logger"] == "webapp.access"]
    assert access["path"] == hostile and access["status"] == 404
    assert not any(line.get("message") == "forged" for line in lines)


def test_an_unexpected_error_is_logged_with_its_id_and_traceback(tmp_path, capsys):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, LOG_FORMAT="json",
                                PROPAGATE_EXCEPTIONS=False))

    @app.get("/test/fail")
    def fail():
        raise RuntimeError("boom")
    try:
        response = get(app, "/test/fail", **{"X-Request-Id": "oops-1"})
        assert response.status_code == 500 and response.headers["X-Request-Id"] == "oops-1"
        lines = log_lines(capsys)
        [error] = [line for line in lines if line["level"] == "ERROR"]
        assert error["request_id"] == "oops-1" and "RuntimeError: boom" in error["exception"]
        [access] = [line for line in lines if line["logger"] == "webapp.access"]
        assert access["status"] == 500 and access["request_id"] == "oops-1"
    finally:
        logs.configure()


def test_a_calendar_feeds_secret_address_stays_out_of_the_log(json_app, capsys):
    get(json_app, "/feeds/s3cr3t-key/my-cards.ics")
    [access] = [line for line in log_lines(capsys) if line["logger"] == "webapp.access"]
    assert "s3cr3t" not in json.dumps(access) and access["path"] == "/feeds/<secret>/my-cards.ics"


def test_text_lines_escape_line_breaks(app, capsys):
    logging.getLogger("webapp.test").warning("two\nlines\x1b[31m")
    [line] = [line for line in capsys.readouterr().err.splitlines() if "webapp.test" in line]
    assert line.endswith("webapp.test: two\\nlines\\x1b[31m") and " [-] " in line


# --- Proxies ------------------------------------------------------------------------------

def external_url_app(tmp_path, **config):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, **config))

    @app.get("/test/external")
    def external():
        from flask import request
        return {"url": url_for("main.index", _external=True), "client": request.remote_addr}
    return app


def test_a_trusted_proxy_says_the_scheme_host_and_client(tmp_path):
    app = external_url_app(tmp_path, TRUSTED_PROXIES=1)
    answer = app.test_client().get("/test/external", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "board.example.com",
        "X-Forwarded-For": "203.0.113.7"}).json
    assert answer == {"url": "https://board.example.com/", "client": "203.0.113.7"}


def test_one_hop_believes_only_the_entry_the_proxy_appended(tmp_path):
    app = external_url_app(tmp_path, TRUSTED_PROXIES=1)
    answer = app.test_client().get("/test/external", headers={
        "X-Forwarded-Proto": "http, https", "X-Forwarded-For": "10.0.0.1, 203.0.113.7"}).json
    assert answer == {"url": "https://localhost/", "client": "203.0.113.7"}


def test_without_trusted_proxies_a_clients_forwarded_headers_change_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    app = external_url_app(tmp_path)
    answer = app.test_client().get("/test/external", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.7"}).json
    assert answer == {"url": "http://localhost/", "client": "127.0.0.1"}


# --- Under Hypercorn, as `make run` serves -----------------------------------------------------

def test_served_with_hypercorn_toml_every_line_is_json(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.servers import ROOT, free_port
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}", "SECRET_KEY": "served-secret",
           "LOG_FORMAT": "json", "PORT": str(port)}
    env.pop("HOST", None)
    process = subprocess.Popen([sys.executable, "-m", "webapp.serve", "-c", "hypercorn.toml"], cwd=ROOT, env=env,
                               start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-Id": "lb-7"})
                with urllib.request.urlopen(request, timeout=1) as response:
                    assert response.headers["X-Request-Id"] == "lb-7"
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert any(line["logger"] == "hypercorn.error" and "Running on" in line["message"] for line in lines)
    assert sum(1 for line in lines if "Running on" in line["message"]) == 1
    [access] = [line for line in lines if line["logger"] == "webapp.access"]
    assert access["request_id"] == "lb-7" and access["path"] == "/healthz" and access["status"] == 200
