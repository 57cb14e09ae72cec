"""Email: invitations, password resets, mentions. Real SMTP everywhere.

With no MAIL_SERVER configured, Corkboard runs its own loopback SMTP server (the dev
mailbox): messages are delivered to it over SMTP, logged, kept under instance/dev-mail/
and readable at /dev/mail. Set MAIL_SERVER in production and none of that exists.
"""
import email
import email.policy
import logging
import os
import socket
import threading
from pathlib import Path

from flask import current_app, render_template
from flask_mail import Message

from .extensions import mail

log = logging.getLogger(__name__)

DEV_MAIL_PORT = 8025


def init_app(app) -> None:
    app.config.setdefault("MAIL_DEFAULT_SENDER", os.environ.get("MAIL_DEFAULT_SENDER", "Corkboard <corkboard@localhost>"))
    if os.environ.get("MAIL_SERVER") and "MAIL_SERVER" not in app.config:
        app.config.update(
            MAIL_SERVER=os.environ["MAIL_SERVER"],
            MAIL_PORT=int(os.environ.get("MAIL_PORT", "587")),
            MAIL_USERNAME=os.environ.get("MAIL_USERNAME"),
            MAIL_PASSWORD=os.environ.get("MAIL_PASSWORD"),
            MAIL_USE_TLS=os.environ.get("MAIL_USE_TLS", "1") == "1",
        )
    app.config.setdefault("DEV_MAILBOX", "MAIL_SERVER" not in app.config)
    if app.config["DEV_MAILBOX"]:
        app.config.setdefault("MAIL_SERVER", "127.0.0.1")
        app.config.setdefault("MAIL_PORT", int(os.environ.get("DEV_MAIL_PORT", DEV_MAIL_PORT)))
    mail.init_app(app)


def send_mail(to: str | list[str], subject: str, template: str, **context) -> None:
    """Render templates/email/<template>.txt (and .html if present) and send it."""
    recipients = [to] if isinstance(to, str) else list(to)
    message = Message(subject=subject, recipients=recipients,
                      body=render_template(f"email/{template}.txt", **context))
    try:
        message.html = render_template(f"email/{template}.html", **context)
    except Exception:  # the HTML part is optional
        pass
    if current_app.config["DEV_MAILBOX"]:
        start_dev_mailbox(current_app.config["MAIL_PORT"], dev_mail_dir(current_app))
    mail.send(message)


def dev_mail_dir(app) -> Path:
    return Path(app.instance_path) / "dev-mail"


_dev_server = None
_dev_lock = threading.Lock()


def start_dev_mailbox(port: int, folder: Path) -> None:
    """Start the loopback SMTP server once per process, unless another process already runs it."""
    global _dev_server
    with _dev_lock:
        if _dev_server is not None or _port_in_use(port):
            return
        from aiosmtpd.controller import Controller

        folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(DevMailbox(folder), hostname="127.0.0.1", port=port)
        controller.start()
        _dev_server = controller
        log.info("Dev mailbox: SMTP on 127.0.0.1:%s, messages at /dev/mail", port)


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class DevMailbox:
    """aiosmtpd handler: log each message and keep it as an .eml file."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        count = len(list(self.folder.glob("*.eml")))
        (self.folder / f"{count + 1:06d}.eml").write_bytes(envelope.content)
        log.warning("Mail to %s: %s", ", ".join(envelope.rcpt_tos), message["Subject"])
        return "250 Message accepted for delivery"
