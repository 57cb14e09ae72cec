"""Email: invitations, password resets, mentions.

Where mail goes depends on how Corkboard runs:

- MAIL_SERVER set (production): over SMTP to that server.
- No MAIL_SERVER, debug mode (`make dev`): the dev mailbox, a loopback SMTP server whose
  messages are kept under instance/dev-mail/ and shown at /dev/mail, each to the account it
  was addressed to (nobody reads anyone else's reset link there).
- No MAIL_SERVER, not debug (`make run`): written to the console log, whole, so whoever runs
  the server can follow a reset or invitation link. Nothing about mail is served over HTTP.

A request never waits for SMTP: `send_mail` renders the message and hands it to the outbox,
a worker thread in each process that sends it after the response, with a timeout, and tries
again with backoff when the server fails; what it finally cannot send is logged.
"""
import atexit
import email
import email.policy
import heapq
import itertools
import logging
import os
import re
import smtplib
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_login import current_user, login_required
from flask_mail import Message, sanitize_address
from jinja2 import TemplateNotFound
from markupsafe import Markup, escape

from .extensions import mail

log = logging.getLogger(__name__)

DEV_MAIL_PORT = 8025

# Defaults, each overridable in config: how long one SMTP conversation may take, how many
# times a message is tried, and the first pause between tries (doubled after each failure).
MAIL_TIMEOUT = 5.0
MAIL_SEND_TRIES = 3
MAIL_RETRY_DELAY = 2.0


class MailNotSent(Exception):
    """Kept for callers written when mail was sent in the request; the outbox never raises it."""


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
    app.config.setdefault("MAIL_TIMEOUT", float(os.environ.get("MAIL_TIMEOUT", MAIL_TIMEOUT)))
    app.config.setdefault("MAIL_SEND_TRIES", int(os.environ.get("MAIL_SEND_TRIES", MAIL_SEND_TRIES)))
    app.config.setdefault("MAIL_RETRY_DELAY", float(os.environ.get("MAIL_RETRY_DELAY", MAIL_RETRY_DELAY)))
    has_server = "MAIL_SERVER" in app.config
    # The mailbox shows mail over HTTP: only for development, never under `make run`, however
    # DEV_MAILBOX was set.
    app.config["DEV_MAILBOX"] = bool(app.config.get("DEV_MAILBOX", True)) and app.debug and not has_server
    app.config.setdefault("MAIL_TO_CONSOLE", not has_server and not app.config["DEV_MAILBOX"])
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
    """Render templates/email/<template>.txt (and .html if present) and hand it to the outbox.

    Returns at once: the message leaves after the response, and a failure to send it is
    retried and logged, never shown to the person whose request wrote it.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    subject = " ".join(subject.split())  # a board title with a line break must not break the header
    message = Message(subject=subject, recipients=recipients,
                      body=render_template(f"email/{template}.txt", **context))
    try:
        message.html = render_template(f"email/{template}.html", **context)
    except TemplateNotFound:  # the HTML part is optional
        pass
    config = current_app.config
    if config["MAIL_TO_CONSOLE"]:
        log.warning("Mail to %s (no MAIL_SERVER set, so it is only written here)\nSubject: %s\n\n%s",
                    ", ".join(recipients), subject, message.body)
        return
    if config["DEV_MAILBOX"]:
        start_dev_mailbox(config["MAIL_PORT"], dev_mail_dir(current_app))
    message.date = time.time()
    outbox.put(Envelope(
        sender=sanitize_address(message.sender), recipients=[sanitize_address(r) for r in message.send_to],
        content=message.as_bytes(), subject=subject,
        server=SmtpServer(host=config["MAIL_SERVER"], port=int(config.get("MAIL_PORT") or 25),
                          use_tls=bool(config.get("MAIL_USE_TLS")), use_ssl=bool(config.get("MAIL_USE_SSL")),
                          username=config.get("MAIL_USERNAME"), password=config.get("MAIL_PASSWORD"),
                          timeout=float(config["MAIL_TIMEOUT"])),
        tries=max(1, int(config["MAIL_SEND_TRIES"])), retry_delay=float(config["MAIL_RETRY_DELAY"]),
    ))


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email: on PUBLIC_URL when configured."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


# --- The outbox: mail leaves after the response ----------------------------------------------

@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    timeout: float = MAIL_TIMEOUT


@dataclass
class Envelope:
    """A rendered message and everything needed to send it, without the app."""
    sender: str
    recipients: list[str]
    content: bytes
    subject: str
    server: SmtpServer
    tries: int = MAIL_SEND_TRIES
    retry_delay: float = MAIL_RETRY_DELAY
    attempts: int = 0


def deliver(envelope: Envelope) -> None:
    """One SMTP conversation; every step bounded by the server's timeout."""
    server = envelope.server
    connect = smtplib.SMTP_SSL if server.use_ssl else smtplib.SMTP
    with connect(server.host, server.port, timeout=server.timeout) as smtp:
        if server.use_tls:
            smtp.starttls()
        if server.username and server.password:
            smtp.login(server.username, server.password)
        smtp.sendmail(envelope.sender, envelope.recipients, envelope.content)


class Outbox:
    """A bounded queue of messages and a few worker threads that send them, per process.

    Retries wait in the queue, not in a thread, so a failing server delays only its own
    messages; a hanging one holds a worker for at most its timeout.
    """

    def __init__(self, maxsize: int = 1000, workers: int = 2, send=deliver):
        self.maxsize, self.workers, self.send = maxsize, workers, send
        self._condition = threading.Condition()
        self._pid = None
        self._reset()

    def _reset(self) -> None:
        self._queue: list[tuple[float, int, Envelope]] = []  # a heap by due time
        self._sending: list[Envelope] = []
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []

    def _ensure_workers(self) -> None:
        if self._pid != os.getpid():  # a forked worker process inherits no threads
            self._reset()
            self._pid = os.getpid()
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._work, name=f"mail-outbox-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def put(self, envelope: Envelope) -> bool:
        """Queue a message to send now; False (and logged) when the queue is full."""
        with self._condition:
            self._ensure_workers()
            if len(self._queue) + len(self._sending) >= self.maxsize:
                log.error("Mail outbox full (%s messages): dropped %r to %s", self.maxsize, envelope.subject,
                          ", ".join(envelope.recipients))
                return False
            heapq.heappush(self._queue, (time.monotonic(), next(self._order), envelope))
            self._condition.notify_all()  # wait_idle waits on the same condition as the workers
            return True

    def _next(self) -> Envelope:
        with self._condition:
            while True:
                now = time.monotonic()
                if self._queue and self._queue[0][0] <= now:
                    envelope = heapq.heappop(self._queue)[2]
                    self._sending.append(envelope)
                    return envelope
                self._condition.wait(self._queue[0][0] - now if self._queue else None)

    def _work(self) -> None:
        while True:
            envelope = self._next()
            envelope.attempts += 1
            error = None
            try:
                self.send(envelope)
            except (smtplib.SMTPException, OSError) as failure:  # timeouts are OSErrors too
                error = failure
            except Exception as failure:  # a worker that dies would strand every later message
                log.exception("Unexpected error sending %r", envelope.subject)
                error = failure
            with self._condition:
                self._sending.remove(envelope)
                if error is not None and envelope.attempts < envelope.tries:
                    delay = envelope.retry_delay * 2 ** (envelope.attempts - 1)
                    log.warning("Could not send %r to %s (try %s of %s, next in %.1f s): %s", envelope.subject,
                                ", ".join(envelope.recipients), envelope.attempts, envelope.tries, delay, error)
                    heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), envelope))
                elif error is not None:
                    log.error("Gave up sending %r to %s after %s tries: %s", envelope.subject,
                              ", ".join(envelope.recipients), envelope.attempts, error)
                self._condition.notify_all()

    def wait_idle(self, timeout: float, server: tuple[str, int] | None = None) -> bool:
        """Wait until every message (or every one for `server`, as (host, port)) is sent or
        given up. True if that happened within `timeout` seconds."""
        def busy():
            pending = [entry[2] for entry in self._queue] + self._sending
            return any(server is None or (e.server.host, e.server.port) == server for e in pending)
        with self._condition:
            return self._condition.wait_for(lambda: not busy(), timeout)


outbox = Outbox()
# Mail queued just before the process stops still gets a moment to leave.
atexit.register(outbox.wait_idle, 3.0)


# --- The dev mailbox: a loopback SMTP server and the page that shows what it received -------

def dev_mail_dir(app) -> Path:
    return Path(app.config.get("DEV_MAIL_DIR") or Path(app.instance_path) / "dev-mail")


_dev_servers: dict[int, object] = {}
_dev_lock = threading.Lock()


def start_dev_mailbox(port: int, folder: Path) -> None:
    """Start the loopback SMTP server once per process and port, unless another process
    (a second `make dev`) already listens there."""
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
        # The text too, on the developer's own console: a sign-up confirmation goes to an address
        # with no account yet, which /dev/mail (each account its own mail) cannot show anyone.
        text = message.get_body(("plain",))
        log.warning("Mail to %s: %s\n\n%s", ", ".join(envelope.rcpt_tos), message["Subject"],
                    text.get_content() if text is not None else "")
        return "250 Message accepted for delivery"


MESSAGE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
DEV_MAIL_SHOWN = 200

dev_bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")


def addressed_to(headers, address: str) -> bool:
    """Whether `address` is among the message's To and Cc recipients (case-insensitive)."""
    recipients = getaddresses([str(value) for name in ("To", "Cc") for value in headers.get_all(name, [])])
    return address.casefold() in {addr.casefold() for _, addr in recipients}


def dev_messages(folder: Path, address: str) -> list[dict]:
    """The newest messages to `address` first: id, to, subject, time (headers only, bodies stay on disk)."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda path: (path.stat().st_mtime_ns, path.name), reverse=True)
    messages = []
    for path in files:
        with path.open("rb") as file:
            headers = BytesHeaderParser(policy=email.policy.default).parse(file)
        if not addressed_to(headers, address):
            continue
        messages.append({"id": path.stem, "to": headers["To"] or "", "subject": headers["Subject"] or "(no subject)",
                         "sent_at": _sent_at(headers, path)})
        if len(messages) == DEV_MAIL_SHOWN:
            break
    return messages


def _sent_at(headers, path: Path):
    try:
        return parsedate_to_datetime(headers["Date"])
    except (TypeError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def dev_message(folder: Path, message_id: str, address: str) -> dict:
    """One message, if it was sent to `address`: someone else's looks like no message at all."""
    path = folder / f"{message_id}.eml"
    if not MESSAGE_ID.fullmatch(message_id) or not path.is_file():
        abort(404, "No such message in your dev mailbox.")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    if not addressed_to(message, address):
        abort(404, "No such message in your dev mailbox.")
    text_part = message.get_body(("plain",))
    return {"id": message_id, "from": message["From"], "to": message["To"], "subject": message["Subject"],
            "sent_at": _sent_at(message, path),
            "text": text_part.get_content() if text_part is not None else None}


# Each account reads only the mail addressed to it, as with a real mailbox: a reset link or an
# invitation for someone else would hand over their account or their boards.
@dev_bp.get("")
@login_required
def dev_mailbox():
    folder = dev_mail_dir(current_app)
    return render_template("dev_mail.html", messages=dev_messages(folder, current_user.email), message=None)


@dev_bp.get("/<message_id>")
@login_required
def dev_mail_message(message_id: str):
    folder = dev_mail_dir(current_app)
    message = dev_message(folder, message_id, current_user.email)
    return render_template("dev_mail.html", messages=dev_messages(folder, current_user.email), message=message)


URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Plain text made safe for a page, its http(s) links clickable. Escaped first, so
    nothing in the text becomes markup; a link's `&amp;` is still the right href."""
    escaped = str(escape(text))
    return Markup(URL.sub(lambda match: f'<a href="{match.group(0)}">{match.group(0)}</a>', escaped))
