"""Mail with no MAIL_SERVER: in development (debug) the dev mailbox, a loopback SMTP server whose
messages each account reads at /dev/mail, its own only; under `make run` the console log, and
nothing over HTTP."""
import logging
import os
import re
import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import TOKEN, UserClient, make_user
from webapp import create_app
from webapp.extensions import db
from webapp.mail import linkify, outbox, stop_dev_mailbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dev_app(tmp_path):
    """An app in development (debug) mode: its dev mailbox on a free port, its messages in a temp folder."""
    port = free_port()
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app({
        "TESTING": True, "DEBUG": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "MAIL_PORT": port, "DEV_MAIL_DIR": str(tmp_path / "dev-mail"),
    })
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        make_user("Ada")
        make_user("Bob")
    yield app
    stop_dev_mailbox(port)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def folder(dev_app) -> Path:
    return Path(dev_app.config["DEV_MAIL_DIR"])


def ask_for_reset(client, email="ada@example.com"):
    html = client.get("/forgot-password").get_data(as_text=True)
    token = TOKEN.search(html).group(1)
    response = client.post("/forgot-password", data={"email": email, "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert outbox.wait_idle(10)  # mail leaves after the response


def message_links(html):
    return re.findall(r'href="(/dev/mail/[^"]+)"', html)


def test_sent_mail_arrives_over_smtp_and_shows_newest_first(dev_app, folder):
    ada = UserClient(dev_app, "ada@example.com")
    ask_for_reset(ada.client, "ada@example.com")
    ask_for_reset(ada.client, "ada@example.com")
    assert len(list(folder.glob("*.eml"))) == 2  # delivered by SMTP, kept as files

    page = ada.get("/dev/mail")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Dev mailbox" in html
    newest, older = message_links(html)
    assert "<td>ada@example.com</td>" in html and "just now" in html

    message = ada.get(newest).get_data(as_text=True)
    assert "Hello Ada," in message
    # The link in the text is clickable, and it works.
    link = re.search(r'<a href="http://localhost(/reset-password\?token=[^"]+)">', message).group(1)
    assert ada.get(link).status_code == 200


def test_nobody_reads_anyone_elses_mail(dev_app, folder):
    """Bob asks for Ada's password reset: the link goes to Ada's mailbox, and Bob cannot open it."""
    bob = UserClient(dev_app, "bob@example.com")
    ask_for_reset(dev_app.test_client(), "ADA@example.com")
    ask_for_reset(bob.client, "bob@example.com")
    [adas_file] = [path for path in folder.glob("*.eml") if b"To: ada@example.com" in path.read_bytes()]

    html = bob.get("/dev/mail").get_data(as_text=True)
    [own] = message_links(html)
    assert own != f"/dev/mail/{adas_file.stem}" and "ada@example.com" not in html
    stolen = bob.get(f"/dev/mail/{adas_file.stem}")
    assert stolen.status_code == 404
    assert "reset-password" not in stolen.get_data(as_text=True) and "Hello Ada" not in stolen.get_data(as_text=True)

    ada = UserClient(dev_app, "ada@example.com")
    [adas] = message_links(ada.get("/dev/mail").get_data(as_text=True))
    assert adas == f"/dev/mail/{adas_file.stem}"
    assert "Hello Ada," in ada.get(adas).get_data(as_text=True)


def test_an_invitation_can_be_followed_from_the_dev_mailbox(dev_app, folder):
    ada = UserClient(dev_app, "ada@example.com")
    html = ada.get("/boards/").get_data(as_text=True)
    token = TOKEN.search(html).group(1)
    board_url = ada.client.post("/boards/", data={"title": "Garden", "csrf_token": token}).location
    response = ada.hx("POST", f"{board_url}/invitations", {"email": "bob@example.com", "role": "editor"})
    assert response.status_code == 200 and outbox.wait_idle(10)
    assert message_links(ada.get("/dev/mail").get_data(as_text=True)) == []  # Bob's, not Ada's
    bob = UserClient(dev_app, "bob@example.com")
    [link] = message_links(bob.get("/dev/mail").get_data(as_text=True))
    message = bob.get(link).get_data(as_text=True)
    assert "Ada invited you to the board “Garden”" in message
    assert re.search(r'<a href="http://localhost/invitation\?token=[^"]+">', message)


def test_message_text_is_escaped_and_only_web_links_become_links(dev_app, folder):
    folder.mkdir(parents=True)
    (folder / "1.eml").write_bytes(
        b"From: x@example.com\r\nTo: Ada <ada@example.com>\r\nSubject: <b>Hi</b>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"<script>alert(1)</script>\r\nSee https://example.com/a?b=1&c=2 and javascript:alert(2)\r\n"
        b"and https://example.com/\"onmouseover=\"alert(3)\r\n")
    ada = UserClient(dev_app, "ada@example.com")
    html = ada.get("/dev/mail/1").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Hi</b>" not in html and "&lt;b&gt;Hi&lt;/b&gt;" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2">https://example.com/a?b=1&amp;c=2</a>' in html
    assert 'href="javascript' not in html and 'onmouseover="' not in html


def test_linkify():
    assert linkify("a <b> http://x.test/?q=1&r=2 end") == \
        'a &lt;b&gt; <a href="http://x.test/?q=1&amp;r=2">http://x.test/?q=1&amp;r=2</a> end'
    assert linkify("ftp://x.test mailto:a@b") == "ftp://x.test mailto:a@b"


def test_an_empty_mailbox_says_so(dev_app):
    html = UserClient(dev_app, "ada@example.com").get("/dev/mail").get_data(as_text=True)
    assert "No messages to ada@example.com yet." in html


@pytest.mark.parametrize("message_id", ["nope", "..", "..%2F..%2Fsecret_key", "%2e%2e", "1.eml"])
def test_unknown_messages_are_404(dev_app, folder, message_id):
    folder.mkdir(parents=True)
    (folder.parent / "secret_key.eml").write_text("Subject: secret\r\n\r\nsecret")
    response = UserClient(dev_app, "ada@example.com").get(f"/dev/mail/{message_id}")
    assert response.status_code == 404 and "secret" not in response.get_data(as_text=True)


def test_the_dev_mailbox_needs_login(dev_app):
    for url in ("/dev/mail", "/dev/mail/1"):
        response = dev_app.test_client().get(url)
        assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_no_dev_mailbox_when_it_is_off(ada):
    assert ada.get("/dev/mail").status_code == 404


def test_no_dev_mailbox_in_production(monkeypatch):
    """Production is where MAIL_SERVER is set: the page does not exist, mail goes there."""
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("MAIL_USE_TLS", "1")
    app = create_app({"TESTING": True, "DEBUG": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["DEV_MAILBOX"] is False
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"]) == \
        ("smtp.example.org", 587, True)
    assert app.test_client().get("/dev/mail").status_code == 404
    assert not any(rule.rule.startswith("/dev") for rule in app.url_map.iter_rules())


def test_development_has_the_dev_mailbox(monkeypatch):
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    app = create_app({"TESTING": True, "DEBUG": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["DEV_MAILBOX"] is True and app.config["MAIL_SERVER"] == "127.0.0.1"
    assert app.test_client().get("/dev/mail").status_code == 302  # there, behind the login


@pytest.fixture
def run_app(tmp_path, monkeypatch):
    """`make run` without a MAIL_SERVER: not debug, no SMTP server configured."""
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "DEV_MAILBOX": True,  # asked for, but outside debug mode it never exists
                      "DEV_MAIL_DIR": str(tmp_path / "dev-mail")})
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        make_user("Ada")
        make_user("Bob")
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_without_debug_mail_goes_to_the_console_and_nothing_is_served(run_app, tmp_path, caplog):
    assert run_app.debug is False and run_app.config["DEV_MAILBOX"] is False
    bob = UserClient(run_app, "bob@example.com")
    with caplog.at_level(logging.WARNING, logger="webapp.mail"):
        ask_for_reset(run_app.test_client(), "ada@example.com")
    [record] = [r for r in caplog.records if r.name == "webapp.mail"]
    logged = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "ada@example.com" in logged and "Reset your Corkboard password" in logged and "Hello Ada," in logged
    # The whole link is there, and it works: whoever runs the server can follow it.
    link = re.search(r"http://localhost(/reset-password\?token=\S+)", logged).group(1)
    assert run_app.test_client().get(link).status_code == 200

    # Nothing about that mail is readable over HTTP, by anyone.
    for url in ("/dev/mail", "/dev/mail/1"):
        assert bob.get(url).status_code == 404
    assert not (tmp_path / "dev-mail").exists()
    assert not any(rule.rule.startswith("/dev") for rule in run_app.url_map.iter_rules())
