"""SQLite: a request that changes something holds the database's write lock for its session's
transactions, so what it reads before it writes is still true when it writes, across threads
and worker processes alike (`python -m webapp.serve --workers 4`).

Python's sqlite3 driver begins a transaction only just before the first INSERT/UPDATE/DELETE:
a card move read its neighbours' keys outside any transaction, then wrote a key between them,
and two workers moving cards into one column wrote the same key (24 duplicated positions and
500s in 30 s of 20 clients). SQLite's locks are per database file, so the lock has to come from
SQLite: `BEGIN IMMEDIATE` takes the write lock when the session's transaction begins, and the
busy timeout (5 s, webapp/__init__.py) queues the other writers behind it. Reads (GET, HEAD)
and connections outside the ORM session (the logged-in user's, which only read) keep SQLite's
default, so readers never queue behind writers (WAL). Once the change has committed, the
request's later reads (its live update, its answer) take no write lock either.
"""
from contextlib import contextmanager

from flask import g, has_request_context, request
from sqlalchemy import event

from .extensions import db

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@event.listens_for(db.session, "after_begin")
def _take_the_write_lock(_session, _transaction, connection) -> None:
    # `after_begin` runs before the session's first statement on this connection; with the
    # driver's default (legacy) transaction control nothing has been sent yet, so this BEGIN
    # is the transaction's first statement, and the driver sees it and adds none of its own.
    if has_request_context() and request.method in MUTATING and not g.get("sqlite_change_committed"):
        _begin_immediate(connection)


@event.listens_for(db.session, "after_commit")
def _only_reads_follow(_session) -> None:
    # What a request does after its change has committed is read it back for the live update and
    # the answer: those reads need no write lock, and holding it would make every other writer
    # (of any board, in any worker) wait for the rendering too.
    if has_request_context() and request.method in MUTATING:
        g.sqlite_change_committed = True


@contextmanager
def read_connection():
    """(connection, commit, rollback) for the few statements a request makes before it knows what it will
    change (the logged-in user's row, and touching their login). On SQLite a connection of its
    own: the session's would take the write lock of a change before the board's lock, which must
    come first (webapp/access.py). On a server database the session's own: a pool checkout, a
    ping and a transaction fewer."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            yield connection, connection.commit, connection.rollback
    else:
        yield db.session.connection(), db.session.commit, db.session.rollback


def hold_write_lock() -> None:
    """Outside a request (a `flask` command that reads, then rewrites): hold SQLite's write lock
    for the rest of the session's transaction, so a running server's changes wait for it."""
    _begin_immediate(db.session.connection())


def _begin_immediate(connection) -> None:
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
