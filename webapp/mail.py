"""Email: invitations, password resets, mentions. Real SMTP everywhere.

With no MAIL_SERVER configured, Corkboard runs its own loopback SMTP server (the dev
mailbox): messages are delivered to it over SMTP, logged, kept under instance/dev-mail/
and readable at /dev/mail. Set MAIL_SERVER in production and none of that exists.
"""
import email
import email.policy
import logging
import os
import re
import smtplib
import socket
import threading
import time
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_login import login_required
from flask_mail import Message
from jinja2 import TemplateNotFound
from markupsafe import Markup, escape

from .extensions import mail

log = logging.getLogger(__name__)

DEV_MAIL_PORT = 8025


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message."""


def init_app(app) -> None:
    app.config.setdefault("MAIL_DEFAULT_SENDER", os.environ.get("MAIL_DEFAULT_SENDER", "Corkboard <corkboard@localhost>"))
    # Links in emails point here when set (e.g. https://board.example.com); otherwise to the
    # host of the request that sent them. Set it in production: the Host header is the client's.
    app.config.setdefault("PUBLIC_URL", os.environ.get("PUBLIC_URL"))
    if os.environ.get("MAIL_SERVER") and "MAIL_SERVER" not in app.config:
        app.config.update(
            MAIL_SERVER=os.environ["MAIL_SERVER"],
            MAIL_PORT=int(os.environ.get("MAIL_PORT", "587")),
            MAIL_USERNAME=os.environ.get("MAIL_USERNAME"),
            MAIL_PASSWORD=os.environ.get("MAIL_PASSWORD"),
            MAIL_USE_TLS=os.environ.get("MAIL_USE_TLS", "1") == "1",
        )
    app.config.setdefault("DEV_MAILBOX", "MAIL_SERVER" not in app.config)
    # Flask-Mail silently drops every message when TESTING; tests read real SMTP instead.
    app.config.setdefault("MAIL_SUPPRESS_SEND", False)
    if app.config["DEV_MAILBOX"]:
        app.config.setdefault("MAIL_SERVER", "127.0.0.1")
        app.config.setdefault("MAIL_PORT", int(os.environ.get("DEV_MAIL_PORT", DEV_MAIL_PORT)))
        app.config.setdefault("DEV_MAIL_DIR", os.environ.get("DEV_MAIL_DIR") or str(Path(app.instance_path) / "dev-mail"))
        app.register_blueprint(dev_bp)
        app.add_template_filter(linkify)
    mail.init_app(app)


def send_mail(to: str | list[str], subject: str, template: str, **context) -> None:
    """Render templates/email/<template>.txt (and .html if present) and send it.

    Raises MailNotSent when the SMTP server is unreachable or refuses the message, so the
    caller can say so instead of pretending the email left.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    subject = " ".join(subject.split())  # a board title with a line break must not break the header
    message = Message(subject=subject, recipients=recipients,
                      body=render_template(f"email/{template}.txt", **context))
    try:
        message.html = render_template(f"email/{template}.html", **context)
    except TemplateNotFound:  # the HTML part is optional
        pass
    if current_app.config["DEV_MAILBOX"]:
        start_dev_mailbox(current_app.config["MAIL_PORT"], dev_mail_dir(current_app))
    try:
        mail.send(message)
    except (smtplib.SMTPException, OSError) as error:
        log.error("Could not send %r to %s: %s", subject, ", ".join(recipients), error)
        raise MailNotSent(str(error)) from error


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email: on PUBLIC_URL when configured."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


# --- The dev mailbox: a loopback SMTP server and the page that shows what it received -------

def dev_mail_dir(app) -> Path:
    return Path(app.config.get("DEV_MAIL_DIR") or Path(app.instance_path) / "dev-mail")


_dev_servers: dict[int, object] = {}
_dev_lock = threading.Lock()


def start_dev_mailbox(port: int, folder: Path) -> None:
    """Start the loopback SMTP server once per process and port, unless another process
    (another worker, a second `make run`) already listens there."""
    with _dev_lock:
        if port in _dev_servers or _port_in_use(port):
            return
        from aiosmtpd.controller import Controller

        folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(DevMailbox(folder), hostname="127.0.0.1", port=port)
        controller.start()
        _dev_servers[port] = controller
        log.info("Dev mailbox: SMTP on 127.0.0.1:%s, messages at /dev/mail", port)


def stop_dev_mailbox(port: int) -> None:
    with _dev_lock:
        controller = _dev_servers.pop(port, None)
        if controller is not None:
            controller.stop()


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class DevMailbox:
    """aiosmtpd handler: log each message and keep it as an .eml file named by arrival time."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{time.time_ns()}.eml").write_bytes(envelope.content)
        log.warning("Mail to %s: %s", ", ".join(envelope.rcpt_tos), message["Subject"])
        return "250 Message accepted for delivery"


MESSAGE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
DEV_MAIL_SHOWN = 200

dev_bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")


def dev_messages(folder: Path) -> list[dict]:
    """The newest messages first: id, to, subject, time (headers only, bodies stay on disk)."""
    files = sorted(folder.glob("*.eml"), key=lambda path: (path.stat().st_mtime_ns, path.name), reverse=True)
    messages = []
    for path in files[:DEV_MAIL_SHOWN]:
        with path.open("rb") as file:
            headers = BytesHeaderParser(policy=email.policy.default).parse(file)
        messages.append({"id": path.stem, "to": headers["To"] or "", "subject": headers["Subject"] or "(no subject)",
                         "sent_at": _sent_at(headers, path)})
    return messages


def _sent_at(headers, path: Path):
    try:
        return parsedate_to_datetime(headers["Date"])
    except (TypeError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def dev_message(folder: Path, message_id: str) -> dict:
    path = folder / f"{message_id}.eml"
    if not MESSAGE_ID.fullmatch(message_id) or not path.is_file():
        abort(404, "No such message in the dev mailbox.")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text_part = message.get_body(("plain",))
    return {"id": message_id, "from": message["From"], "to": message["To"], "subject": message["Subject"],
            "sent_at": _sent_at(message, path),
            "text": text_part.get_content() if text_part is not None else None}


@dev_bp.get("")
@login_required
def dev_mailbox():
    folder = dev_mail_dir(current_app)
    return render_template("dev_mail.html", messages=dev_messages(folder) if folder.is_dir() else [],
                           message=None)


@dev_bp.get("/<message_id>")
@login_required
def dev_mail_message(message_id: str):
    folder = dev_mail_dir(current_app)
    message = dev_message(folder, message_id)
    return render_template("dev_mail.html", messages=dev_messages(folder), message=message)


URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Plain text made safe for a page, its http(s) links clickable. Escaped first, so
    nothing in the text becomes markup; a link's `&amp;` is still the right href."""
    escaped = str(escape(text))
    return Markup(URL.sub(lambda match: f'<a href="{match.group(0)}">{match.group(0)}</a>', escaped))
