"""A real SMTP server on loopback for tests: the app sends, the test reads what arrived."""
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address):
        return [m for m in self.messages if address in m["To"]]

    def last_body(self, address):
        message = self.to(address)[-1]
        return message.get_body(("plain",)).get_content()


@pytest.fixture
def smtp(app):
    """Point the app at a fresh loopback SMTP server and return its inbox."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, DEV_MAILBOX=False)
    # Flask-Mail reads its settings at init; rebind it to the new port.
    from webapp.extensions import mail
    mail.init_app(app)
    yield inbox
    controller.stop()
