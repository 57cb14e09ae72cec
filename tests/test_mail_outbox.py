"""Mail leaves after the response: a hanging or failing SMTP server never holds a request,
each conversation has a timeout, failures are retried with backoff, and what is finally not
sent is logged."""
import logging
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import TOKEN
from tests.smtp import Receiver, free_port
from webapp.mail import Envelope, Outbox, SmtpServer, outbox


class HangingSmtp:
    """A TCP server that accepts connections and never says a word (not even the greeting)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.received = b""
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self):
        self.sock.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def hanging_smtp(app):
    server = HangingSmtp()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    yield server
    server.close()


def ask_for_reset(client, email="ada@example.com"):
    html = client.get("/forgot-password").get_data(as_text=True)
    return client.post("/forgot-password", data={"email": email, "csrf_token": TOKEN.search(html).group(1)})


def mail_log(caplog):
    return [r for r in caplog.records if r.name == "webapp.mail"]


def test_a_hanging_mail_server_never_holds_the_request(app, ada, hanging_smtp, caplog):
    app.config.update(MAIL_TIMEOUT=2.0, MAIL_SEND_TRIES=2, MAIL_RETRY_DELAY=0.05)
    answered = {}
    # In a thread, so that a request that did wait for the server fails this test, not hangs it.
    request = threading.Thread(target=lambda: answered.update(response=ask_for_reset(app.test_client())))
    request.start()
    request.join(30)
    assert not request.is_alive(), "the request waited for the SMTP server"
    response = answered["response"]
    assert response.status_code == 303 and response.location == "/login"
    # It was answered while the message was still on its way: no try has failed yet, and the
    # outbox still holds the message.
    assert not any("Could not send" in r.getMessage() for r in mail_log(caplog))
    assert outbox.wait_idle(0, server=("127.0.0.1", hanging_smtp.port)) is False

    # The outbox keeps trying, each try cut off by the timeout, and finally says what it gave up.
    with caplog.at_level(logging.WARNING, logger="webapp.mail"):
        assert outbox.wait_idle(15, server=("127.0.0.1", hanging_smtp.port))
    assert len(hanging_smtp.connections) == 2  # one connection per try
    messages = [r.getMessage() for r in mail_log(caplog)]
    assert any("try 1 of 2" in m and "ada@example.com" in m for m in messages)
    [gave_up] = [r for r in mail_log(caplog) if "Gave up sending" in r.getMessage()]
    assert gave_up.levelno == logging.ERROR
    assert "'Reset your Corkboard password' to ada@example.com after 2 tries" in gave_up.getMessage()


class FailsFirst(Receiver):
    """A mail server that refuses the first message with a temporary error, then accepts."""

    def __init__(self):
        super().__init__()
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refused == 0:
            self.refused += 1
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


def test_a_failed_send_is_tried_again_and_arrives_once(app, ada, caplog):
    port = free_port()
    receiver = FailsFirst()
    controller = Controller(receiver, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_RETRY_DELAY=0.05)
        assert ask_for_reset(app.test_client()).status_code == 303
        assert outbox.wait_idle(10, server=("127.0.0.1", port))
    finally:
        controller.stop()
    assert receiver.refused == 1
    [message] = receiver.messages
    assert message["To"] == "ada@example.com" and message["Subject"] == "Reset your Corkboard password"
    assert not any("Gave up" in r.getMessage() for r in mail_log(caplog))


def test_the_outbox_is_bounded():
    """A flood of mail cannot grow the queue without limit: beyond it, a message is refused
    (and logged) rather than held in memory."""
    release = threading.Event()
    sent = []

    def slow_send(envelope):
        release.wait(10)
        sent.append(envelope)

    box = Outbox(maxsize=3, workers=1, send=slow_send)
    envelopes = [Envelope(sender="a@x", recipients=[f"{n}@x"], content=b"", subject=str(n),
                          server=SmtpServer("127.0.0.1", 1)) for n in range(5)]
    accepted = [box.put(envelope) for envelope in envelopes]
    assert accepted == [True, True, True, False, False]
    release.set()
    assert box.wait_idle(10)
    assert [envelope.subject for envelope in sent] == ["0", "1", "2"]


def test_retries_wait_in_the_queue_not_in_a_worker():
    """While one message waits for its next try, the others go out."""
    sent, attempts = [], {}

    def flaky_send(envelope):
        attempts[envelope.subject] = attempts.get(envelope.subject, 0) + 1
        if envelope.subject == "flaky" and attempts["flaky"] == 1:
            raise OSError("connection refused")
        sent.append((envelope.subject, time.monotonic()))

    box = Outbox(workers=1, send=flaky_send)
    server = SmtpServer("127.0.0.1", 1)
    box.put(Envelope(sender="a@x", recipients=["b@x"], content=b"", subject="flaky", server=server,
                     retry_delay=0.5))
    box.put(Envelope(sender="a@x", recipients=["c@x"], content=b"", subject="steady", server=server))
    assert box.wait_idle(10)
    assert [subject for subject, _ in sent] == ["steady", "flaky"] and attempts == {"flaky": 2, "steady": 1}
