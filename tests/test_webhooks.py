"""Webhooks: what a receiver on a real loopback server gets, when, and what the page shows."""
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.conftest import UserClient, app_config, fresh_app, make_user
from webapp import webhooks
from webapp.extensions import db
from webapp.models import BoardMember, Webhook, WebhookDelivery

RETRY_DELAYS = (0.3, 0.6)


class Receiver:
    """An HTTP server on a free loopback port that records every POST. Paths choose the answer:
    /ok → 200, /fail → 500, /moved → 302 to /ok, /slow → 200 after 1 s, /hang → 200 after 3 s."""

    def __init__(self):
        self.received: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with receiver.lock:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "at": time.monotonic()})
                delay = {"/slow": 1.0, "/hang": 3.0}.get(self.path, 0)
                time.sleep(delay)
                status = {"/fail": 500, "/moved": 302}.get(self.path, 200)
                answer = b"oops\x00\x07 broke" if status == 500 else b"thanks"
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/ok")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/ok"):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait_for(self, count, timeout=5.0, path=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [r for r in self.received if path is None or r["path"] == path]
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def app(tmp_path):
    """On PostgreSQL every test's tables live in one database: a sender still waiting to retry
    after its test would send the next test's deliveries, so each test's sender stops with it."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    for app in fresh_app(app_config(url, tmp_path, WEBHOOKS_ALLOW_PRIVATE=True, WEBHOOK_RETRY_DELAYS=RETRY_DELAYS,
                                    WEBHOOK_TIMEOUT=5.0)):
        yield app
        sender = app.extensions.get("webhook_sender")
        if sender is not None:
            sender.stop()


def add_hook(ada, url, events=None):
    data = {"url": url}
    if events:
        data["events"] = events
    else:
        data["all_events"] = "y"
    response = ada.form("POST", f"{ada.board.url}/webhooks", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    with ada.app.app_context():
        return db.session.scalars(select(Webhook).order_by(Webhook.id.desc())).first()


def deliveries(app):
    with app.app_context():
        return db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def verify(secret, header, body):
    """What a receiver does (docs/webhooks.md)."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_a_card_created_on_the_page_reaches_the_receiver_signed(app, ada, receiver):
    hook = add_hook(ada, receiver.url())
    ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Ship it"})
    [got] = receiver.wait_for(1)
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["User-Agent"] == "Corkboard-Webhooks/1"
    assert got["headers"]["Corkboard-Event"] == "card.created"
    assert verify(hook.secret, got["headers"]["Corkboard-Signature"], got["body"])
    assert not verify("another secret", got["headers"]["Corkboard-Signature"], got["body"])
    body = json.loads(got["body"])
    assert body["event"] == "card.created"
    assert body["board"] == {"id": ada.board.id, "title": "Roadmap"}
    assert body["actor"]["name"] == "Ada"
    assert body["data"]["card_id"]
    wait_until(lambda: deliveries(app)[0].status == "delivered")
    [delivery] = deliveries(app)
    assert got["headers"]["Corkboard-Delivery"] == str(delivery.id)
    assert delivery.last_status_code == 200 and delivery.response_excerpt == "thanks" and delivery.attempts == 1
    page = ada.get(f"{ada.board.url}/webhooks").get_data(as_text=True)
    assert "card.created" in page and "delivered" in page and hook.secret in page


def test_a_hook_hears_only_the_events_it_picked(app, ada, receiver):
    add_hook(ada, receiver.url("/moves"), events=["card.moved"])
    ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Not sent"})
    ada.form("PATCH", f"{ada.board.card_url('One')}/move",
             {"column_id": ada.board.columns["Done"], "position": 0})
    [got] = receiver.wait_for(1)
    assert got["headers"]["Corkboard-Event"] == "card.moved"
    time.sleep(0.3)
    assert len(receiver.received) == 1
    assert [d.event for d in deliveries(app)] == ["card.moved"]


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(app, ada, receiver):
    add_hook(ada, receiver.url("/fail"))
    ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Ship it"})
    tries = receiver.wait_for(3, timeout=8)
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(tries, tries[1:])]
    assert gaps[0] >= RETRY_DELAYS[0] * 0.9 and gaps[1] >= RETRY_DELAYS[1] * 0.9
    assert gaps[1] > gaps[0]  # the wait grows
    wait_until(lambda: deliveries(app)[0].status == "failed")
    [delivery] = deliveries(app)
    assert delivery.attempts == 3 and delivery.last_status_code == 500
    assert delivery.response_excerpt == "oops broke"  # control characters gone
    time.sleep(0.8)
    assert len(receiver.received) == 3  # no fourth try
    page = ada.get(f"{ada.board.url}/webhooks").get_data(as_text=True)
    assert "failed" in page and "oops broke" in page and "HTTP 500" in page


def test_a_hanging_receiver_does_not_slow_the_change(app, ada, receiver):
    add_hook(ada, receiver.url("/hang"))
    started = time.monotonic()
    response = ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Quick"})
    elapsed = time.monotonic() - started
    assert response.status_code == 303
    assert elapsed < 1.0, f"the change took {elapsed:.2f} s"
    receiver.wait_for(1)  # it was sent all the same, outside the request


def test_private_addresses_are_refused_without_the_setting(tmp_path, receiver):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'strict.db'}"
    for app in fresh_app(app_config(url, tmp_path)):
        from tests.conftest import BoardRef, make_board
        with app.app_context():
            board = BoardRef(make_board(make_user("Ada")))
        ada = UserClient(app, "ada@example.com")
        for target in (receiver.url(), "http://10.0.0.5/hook", "http://169.254.169.254/latest", "http://localhost:9/",
                       "ftp://example.com/hook", "http://[::1]/hook"):
            response = ada.form("POST", f"/boards/{board.id}/webhooks", {"url": target, "all_events": "y"})
            assert response.status_code == 422, target
        assert "private network" in response.get_data(as_text=True)
        with app.app_context():
            assert db.session.scalar(select(Webhook)) is None


def test_two_senders_racing_send_a_delivery_once(app, ada, receiver):
    hook = add_hook(ada, receiver.url())
    with app.app_context():
        for _ in range(10):
            db.session.add(WebhookDelivery(webhook_id=hook.id, event="ping", payload="{}", status="queued",
                                           next_attempt_at=webhooks.utcnow()))
        db.session.commit()
    senders = [webhooks.Sender(app), webhooks.Sender(app)]
    barrier = threading.Barrier(2)

    def run(sender):
        barrier.wait()
        with app.app_context():
            sender.send_due()

    threads = [threading.Thread(target=run, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(receiver.received) == 10
    assert sorted(r["headers"]["Corkboard-Delivery"] for r in receiver.received) == \
        sorted(str(d.id) for d in deliveries(app))
    assert {d.status for d in deliveries(app)} == {"delivered"} and {d.attempts for d in deliveries(app)} == {1}


def test_claiming_is_atomic(app, ada, receiver):
    hook = add_hook(ada, receiver.url())
    with app.app_context():
        delivery = WebhookDelivery(webhook_id=hook.id, event="ping", payload="{}", status="queued",
                                   next_attempt_at=webhooks.utcnow())
        db.session.add(delivery)
        db.session.commit()
        assert webhooks.claim(delivery.id) is True
        assert webhooks.claim(delivery.id) is False


def test_send_test_pings_every_hook_at_once(app, ada, receiver):
    first = add_hook(ada, receiver.url("/slow"))
    add_hook(ada, receiver.url("/slow"))
    started = time.monotonic()
    response = ada.form("POST", f"{ada.board.url}/webhooks/test")
    elapsed = time.monotonic() - started
    assert response.status_code == 303
    pings = [r for r in receiver.received if r["headers"]["Corkboard-Event"] == "ping"]
    assert len(pings) == 2
    assert elapsed < 1.8, f"two 1 s receivers took {elapsed:.2f} s: not at once"
    assert abs(pings[0]["at"] - pings[1]["at"]) < 0.5
    assert verify(first.secret, pings[0]["headers"]["Corkboard-Signature"], pings[0]["body"]) or \
        verify(first.secret, pings[1]["headers"]["Corkboard-Signature"], pings[1]["body"])
    assert [d.status for d in deliveries(app)] == ["delivered", "delivered"]
    assert all(d.duration_ms >= 900 for d in deliveries(app))
    page = ada.get(response.headers["Location"]).get_data(as_text=True)
    assert "Test sent to 2 webhooks: 2 delivered, 0 failed." in page


def test_send_test_with_htmx_answers_the_delivery_list(app, ada, receiver):
    add_hook(ada, receiver.url("/fail"))
    response = ada.hx("POST", f"{ada.board.url}/webhooks/test")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="webhook-deliveries"')
    assert "0 delivered, 1 failed" in html and "ping" in html and "failed" in html
    assert deliveries(app)[0].attempts == 1  # a test is tried once


def test_edit_disable_and_delete_a_hook(app, ada, receiver):
    hook = add_hook(ada, receiver.url("/first"))
    base = f"{ada.board.url}/webhooks/{hook.id}"
    assert "Edit the webhook" in ada.get(f"{base}/edit").get_data(as_text=True)
    assert ada.form("PATCH", base, {"url": receiver.url("/second"), "events": ["card.created"]}).status_code == 303
    assert ada.form("PATCH", base, {"url": receiver.url("/second")}).status_code == 422  # no event picked
    ada.form("POST", f"{base}/disable")
    ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Unheard"})
    time.sleep(0.3)
    assert receiver.received == [] and deliveries(app) == []
    ada.form("POST", f"{base}/enable")
    ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Heard"})
    assert receiver.wait_for(1)[0]["path"] == "/second"
    assert "Delete the webhook to" in ada.get(f"{base}/delete").get_data(as_text=True)
    assert ada.form("DELETE", base).status_code == 303
    with app.app_context():
        assert db.session.get(Webhook, hook.id) is None
        assert db.session.scalar(select(WebhookDelivery)) is None  # its log went with it


def test_only_owners_reach_the_webhooks_pages(app, ada, bob, receiver):
    hook = add_hook(ada, receiver.url())
    with app.app_context():
        db.session.add(BoardMember(board_id=ada.board.id, user_id=make_user("Eve").id, role="editor"))
        db.session.commit()
    editor = UserClient(app, "eve@example.com")
    base = f"{ada.board.url}/webhooks"
    for client, status in ((editor, 403), (bob, 404)):
        assert client.get(base).status_code == status
        assert client.get(f"{base}/{hook.id}/edit").status_code == status
        assert client.form("POST", base, {"url": receiver.url(), "all_events": "y"}).status_code == status
        assert client.form("POST", f"{base}/test").status_code == status
        assert client.form("DELETE", f"{base}/{hook.id}").status_code == status
        assert hook.secret not in client.get(base).get_data(as_text=True)
    assert receiver.received == []
    with app.app_context():
        assert db.session.scalar(select(Webhook).where(Webhook.id == hook.id)) is not None


def test_every_webhook_form_needs_the_csrf_token(app, ada, receiver):
    hook = add_hook(ada, receiver.url())
    base = f"{ada.board.url}/webhooks"
    for url in (base, f"{base}/test", f"{base}/{hook.id}/disable", f"{base}/{hook.id}?_method=DELETE"):
        response = ada.client.post(url, data={"url": receiver.url(), "all_events": "y"})
        assert response.status_code == 400, url
    assert receiver.received == []
    with app.app_context():
        assert db.session.get(Webhook, hook.id).active is True


def test_a_bad_url_is_an_inline_error(app, ada):
    for url in ("", "not a url", "http://", "x" * 2100):
        response = ada.form("POST", f"{ada.board.url}/webhooks", {"url": url, "all_events": "y"})
        assert response.status_code == 422, url
        assert "field-error" in response.get_data(as_text=True)


def test_a_redirect_is_not_followed(app, ada, receiver):
    add_hook(ada, receiver.url("/moved"))
    ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Ship it"})
    receiver.wait_for(1)
    wait_until(lambda: deliveries(app)[0].attempts == 1 and deliveries(app)[0].status == "queued")
    assert [r["path"] for r in receiver.received] == ["/moved"]  # never to where it pointed
    assert deliveries(app)[0].last_status_code == 302


def test_a_change_is_saved_when_queueing_its_webhooks_fails(app, ada, receiver, monkeypatch, caplog):
    add_hook(ada, receiver.url())

    def broken(*args):
        raise RuntimeError("the queue is away")
    monkeypatch.setattr(webhooks, "_queue", broken)
    response = ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Saved anyway"})
    assert response.status_code == 303
    assert "Saved anyway" in ada.get(ada.board.url).get_data(as_text=True)
    assert "Could not queue the webhooks" in caplog.text
    assert deliveries(app) == []


def test_every_activity_verb_can_be_picked():
    """A verb the board operations record but the page does not offer could never be chosen alone."""
    import re
    from pathlib import Path
    source = "".join(path.read_text() for path in (Path(webhooks.__file__).parent / "operations").glob("*.py"))
    verbs = set(re.findall(r'"((?:board|card|column|checklist|comment|label|member|invitation|attachment)\.[a-z_]+)"',
                           source))
    assert verbs and verbs <= set(webhooks.EVENTS), verbs - set(webhooks.EVENTS)


def test_a_stopped_sender_sends_no_more(app, ada, receiver):
    add_hook(ada, receiver.url())
    sender = webhooks.sender_for(app)
    sender.stop()
    ada.hx("POST", f"{ada.board.url}/columns/{ada.board.columns['To do']}/cards", {"title": "After the stop"})
    time.sleep(0.5)
    assert receiver.received == []
    with app.app_context():
        assert {d.status for d in deliveries(app)} == {"queued"}  # kept for a sender that runs
