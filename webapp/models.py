"""Database models: users, boards and their members, columns, cards and what cards carry."""
from datetime import date, datetime, timezone

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    JSON, Column, Date, DateTime, ForeignKey, Index, String, Table, Text, UniqueConstraint, false, func, true,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db

TITLE_MAX = 200
# Order keys are short base-36 strings (see ordering.py); this is room to spare.
ORDER_KEY_MAX = 64
# Order keys compare character by character, as Python compares them. MariaDB's default utf8mb4
# collation ignores case and accents, so two distinct keys could tie there: its key columns use
# the binary collation (SQLite compares bytes already).
ORDER_KEY = String(ORDER_KEY_MAX).with_variant(
    mysql.VARCHAR(ORDER_KEY_MAX, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")
# Times are UTC. MariaDB's DATETIME keeps whole seconds unless told otherwise; the other
# databases keep microseconds.
UTC_DATETIME = DateTime(timezone=True).with_variant(mysql.DATETIME(timezone=True, fsp=6), "mysql", "mariadb")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def initials(name: str) -> str:
    """A person's avatar text: the first letters of their first two names."""
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


# The page's colour scheme, per user: the system's (the default), or always light or dark.
THEMES = ("system", "light", "dark")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    theme: Mapped[str] = mapped_column(String(10), default="system", server_default="system")  # THEMES
    # A random key the secret of the user's calendar feed addresses is signed from (webapp/feeds.py):
    # the addresses themselves are never stored, and a new key retires them. None: no feeds.
    feed_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())

    boards: Mapped[list["Board"]] = relationship(back_populates="owner")

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash, password)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


class LoginSession(db.Model):
    """One login: a browser that gave the right password (or a fresh one after a reset).
    Its session and remember-me cookies carry its id and a secret whose hash is kept here,
    so deleting the row ends that login wherever its cookies were copied."""
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    remember: Mapped[bool] = mapped_column(default=False, server_default=false())
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    last_used_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UTC_DATETIME)

    @property
    def browser(self) -> str:
        """"Firefox on Linux", as far as the User-Agent it logged in with says."""
        agent = self.user_agent or ""
        name = next((name for pattern, name in BROWSERS if pattern in agent), "A browser")
        system = next((system for pattern, system in SYSTEMS if pattern in agent), "")
        return f"{name} on {system}" if system else name


# The first that the User-Agent names (order matters: Edge's also says Chrome, Chrome's Safari).
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Safari/", "Safari"), ("curl/", "curl"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("Linux", "Linux"))


TOKEN_SCOPES = ("read", "write")  # "write" can also read


class AccessToken(db.Model):
    """A personal access token for the API, sent as `Authorization: Bearer cb_…`.
    Only the SHA-256 of its secret is kept: the secret is shown once, when it is made."""
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the secret's first characters, to tell tokens apart
    scope: Mapped[str] = mapped_column(String(10))  # TOKEN_SCOPES
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    last_used_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    revoked_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)

    user: Mapped[User] = relationship()


ROLES = ("viewer", "editor", "owner")  # each role can do what the ones before it can


def role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


# A board's colour: its tile on "My boards" and the backdrop behind its columns.
BOARD_COLORS = ("blue", "green", "orange", "red", "purple", "pink", "sky", "lime", "grey")


class Board(db.Model):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    color: Mapped[str] = mapped_column(String(20), default="blue", server_default="blue")  # BOARD_COLORS
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())

    owner: Mapped[User] = relationship(back_populates="boards")
    columns: Mapped[list["BoardColumn"]] = relationship(
        back_populates="board", order_by="[BoardColumn.position, BoardColumn.id]",
        cascade="all, delete-orphan", passive_deletes=True,
    )
    members: Mapped[list["BoardMember"]] = relationship(
        back_populates="board", cascade="all, delete-orphan", passive_deletes=True)
    labels: Mapped[list["Label"]] = relationship(
        back_populates="board", order_by="[Label.name, Label.id]", cascade="all, delete-orphan", passive_deletes=True)


class BoardMember(db.Model):
    """A user's place on a board: owner, editor (changes cards and columns) or viewer (reads)."""
    __tablename__ = "board_members"
    __table_args__ = (UniqueConstraint("board_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())

    board: Mapped[Board] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Invitation(db.Model):
    """An emailed invitation to a board; the link carries its id, signed, valid 7 days."""
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    accepted_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    revoked_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)

    board: Mapped[Board] = relationship()
    invited_by: Mapped[User | None] = relationship()


LABEL_COLORS = ("green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "grey")


class Label(db.Model):
    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    color: Mapped[str] = mapped_column(String(20))

    board: Mapped[Board] = relationship(back_populates="labels")


card_labels = Table(
    "card_labels", db.metadata,
    Column("card_id", ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True),
)

card_assignees = Table(
    "card_assignees", db.metadata,
    Column("card_id", ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class BoardColumn(db.Model):
    __tablename__ = "columns"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    position: Mapped[str] = mapped_column(ORDER_KEY)
    wip_limit: Mapped[int | None]
    archived_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)

    board: Mapped[Board] = relationship(back_populates="columns")
    cards: Mapped[list["Card"]] = relationship(
        back_populates="column", order_by="[Card.position, Card.id]",
        cascade="all, delete-orphan", passive_deletes=True,
    )


class Card(db.Model):
    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_column_position", "column_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    column_id: Mapped[int] = mapped_column(ForeignKey("columns.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    position: Mapped[str] = mapped_column(ORDER_KEY)
    start_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    archived_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    # Bumped on every change; an edit based on an older version is refused (409).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTC_DATETIME, default=utcnow, onupdate=utcnow, server_default=func.now())

    board: Mapped[Board] = relationship()
    column: Mapped[BoardColumn] = relationship(back_populates="cards")
    labels: Mapped[list[Label]] = relationship(secondary=card_labels, order_by=Label.name)
    assignees: Mapped[list[User]] = relationship(secondary=card_assignees, order_by=User.name)
    checklist: Mapped[list["ChecklistItem"]] = relationship(
        back_populates="card", order_by="[ChecklistItem.position, ChecklistItem.id]",
        cascade="all, delete-orphan", passive_deletes=True)
    # Two rows can share a time: they come apart by id, the order they were made in.
    comments: Mapped[list["Comment"]] = relationship(
        back_populates="card", order_by="[Comment.created_at, Comment.id]",
        cascade="all, delete-orphan", passive_deletes=True)
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="card", order_by="[Attachment.created_at, Attachment.id]",
        cascade="all, delete-orphan", passive_deletes=True)

    @property
    def has_description(self) -> bool:
        return bool(self.description)


class ChecklistItem(db.Model):
    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(TITLE_MAX))
    done: Mapped[bool] = mapped_column(default=False, server_default=false())
    position: Mapped[str] = mapped_column(ORDER_KEY)

    card: Mapped[Card] = relationship(back_populates="checklist")


class Comment(db.Model):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    edited_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)

    card: Mapped[Card] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """A file on a card. The bytes live under instance/uploads/, named by their SHA-256."""
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    is_image: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())

    card: Mapped[Card] = relationship(back_populates="attachments")
    uploader: Mapped[User | None] = relationship()


class Activity(db.Model):
    """Who did what, when: "Ada moved 'Fix login' from Doing to Done"."""
    __tablename__ = "activities"
    # Newest first by id; the board's newest id is also its version (webapp/pagecache.py).
    __table_args__ = (Index("ix_activities_board_id_id", "board_id", "id"),
                      Index("ix_activities_card_id_id", "card_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verb: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())

    actor: Mapped[User | None] = relationship()


WEBHOOK_STATUSES = ("queued", "sending", "delivered", "failed")


class Webhook(db.Model):
    """A URL that hears about a board's changes (webapp/webhooks.py). The secret signs each
    delivery, so it is kept as is: the owner reads it on the board's webhooks page to check
    signatures with."""
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(64))
    events: Mapped[list] = mapped_column(JSON, default=lambda: ["*"])  # activity verbs, or ["*"] for all
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class WebhookDelivery(db.Model):
    """One event on its way to one webhook: queued, being sent, delivered, or given up (failed),
    with what the last attempt got back."""
    __tablename__ = "webhook_deliveries"
    # The sender's question: which queued deliveries are due now?
    __table_args__ = (Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # the JSON body, byte for byte what is signed and sent
    status: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")  # WEBHOOK_STATUSES
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME, default=utcnow, server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)

    webhook: Mapped[Webhook] = relationship()
