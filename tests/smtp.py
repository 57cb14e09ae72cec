"""A real SMTP server on loopback for tests: the app sends, the test reads what arrived.

Mail leaves through the app's outbox after the response, so the inbox first waits for the
outbox to finish with this server before it answers what arrived.
"""
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from webapp.mail import outbox


class Receiver:
    """The aiosmtpd handler (kept apart from the Inbox: aiosmtpd inspects its handler's attributes)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Inbox:
    def __init__(self, port: int):
        self.port = port
        self.receiver = Receiver()

    @property
    def messages(self):
        assert outbox.wait_idle(10, server=("127.0.0.1", self.port)), "the outbox did not finish in 10 s"
        return self.receiver.messages

    def to(self, address):
        return [m for m in self.messages if address in m["To"]]

    def last_body(self, address):
        message = self.to(address)[-1]
        return message.get_body(("plain",)).get_content()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app):
    """Point the app at a fresh loopback SMTP server and return its inbox."""
    port = free_port()
    inbox = Inbox(port)
    controller = Controller(inbox.receiver, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, DEV_MAILBOX=False, MAIL_TO_CONSOLE=False)
    # Flask-Mail reads its settings at init; rebind it to the new port.
    from webapp.extensions import mail
    mail.init_app(app)
    yield inbox
    controller.stop()
