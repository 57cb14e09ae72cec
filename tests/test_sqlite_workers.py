"""The README's deploy on the default SQLite: `python -m webapp.serve --workers 3`, 20 clients
moving and adding cards at once. Before, two workers read the same neighbours and wrote the same
key (duplicated positions), and every later drop between two equal keys failed with a 500."""
import random
import re
import sqlite3
import threading
import time
from collections import Counter

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from tests.conftest import UserClient, make_board, make_user
from tests.servers import HttpUser, Server
from webapp import create_app
from webapp.extensions import db
from webapp.models import Card
from webapp.ordering import key_between

CLIENTS = 20
SECONDS = 8


@pytest.fixture
def workers(tmp_path):
    database = f"sqlite:///{tmp_path / 'workers.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "s", "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        board = make_board(make_user("Ada"), columns={
            "To do": [f"Task {n}" for n in range(12)], "Doing": [f"Work {n}" for n in range(6)], "Done": []})
        board_id, columns = board.id, {column.title: column.id for column in board.columns}
    server = Server({"DATABASE_URL": database, "SECRET_KEY": "s", "REDIS_URL": "", "RATELIMIT_ENABLED": "0"},
                    workers=3)
    yield app, server, board_id, columns
    server.stop()


def client_loop(server, board_id, columns, seed, deadline, statuses, created, lock):
    rng = random.Random(seed)
    user = HttpUser(server.url).login("ada@example.com", "password123")
    page = user.board_page(board_id)
    card_ids = [int(card_id) for card_id in re.findall(r'id="card-(\d+)"', page)]
    column_ids = list(columns.values())
    while time.monotonic() < deadline:
        if rng.random() < 0.75 and card_ids:
            card_id = rng.choice(card_ids)
            status, _ = user.hx("PATCH", f"/boards/{board_id}/cards/{card_id}/move",
                                {"column_id": rng.choice(column_ids), "position": rng.choice([0, 1, 2, 3, 99])})
        else:
            title = f"New {seed}-{rng.randrange(10**9)}"
            status, html = user.hx("POST", f"/boards/{board_id}/columns/{rng.choice(column_ids)}/cards",
                                   {"title": title})
            if status == 200:
                with lock:
                    created.append(title)
        with lock:
            statuses[status] += 1


def test_concurrent_moves_and_adds_on_three_workers_keep_positions_unique(workers):
    app, server, board_id, columns = workers
    statuses, created, lock = Counter(), [], threading.Lock()
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=client_loop, args=(server, board_id, columns, seed, deadline,
                                                          statuses, created, lock))
               for seed in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 30)
    assert sum(statuses.values()) > 100, statuses  # the clients really worked concurrently
    assert set(statuses) == {200}, statuses  # no 5xx, and nothing refused
    with app.app_context():
        duplicated = db.session.execute(
            select(Card.column_id, Card.position, func.count()).group_by(Card.column_id, Card.position)
            .having(func.count() > 1)).all()
        assert duplicated == []
        titles = set(db.session.scalars(select(Card.title)))
        assert set(created) <= titles and len(titles) == 18 + len(created)  # every acknowledged add is there
        in_order = {column_id: [card_id for card_id, in db.session.execute(
            select(Card.id).where(Card.column_id == column_id).order_by(Card.position))]
            for column_id in columns.values()}
    # What the board shows is the database's order, column by column.
    page = HttpUser(server.url).login("ada@example.com", "password123").board_page(board_id)
    for column_id, expected in in_order.items():
        lane = re.search(rf'id="cards-{column_id}"(.*?)</ol>', page, re.S)
        shown = [int(card_id) for card_id in re.findall(r'id="card-(\d+)"', lane.group(1))] if lane else None
        assert shown == expected


def test_a_move_reads_its_neighbours_under_the_write_lock(tmp_path):
    """Another process holds SQLite's write lock and puts a card where a waiting move is about
    to go. Before, the move read its neighbours outside any transaction, waited only to write,
    and wrote the key the other card had just taken."""
    path = tmp_path / "lock.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "s", "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "DEV_MAILBOX": False})
    with app.app_context():
        db.create_all()
        board = make_board(make_user("Ada"), columns={"To do": ["One", "Two"], "Doing": ["Three", "Four"]})
        board_id = board.id
        ids = {card.title: card.id for column in board.columns for card in column.cards}
        column_id = board.columns[0].id
        one, two = (db.session.get(Card, ids[title]).position for title in ("One", "Two"))
    ada = UserClient(app, "ada@example.com")
    ada.get(f"/boards/{board_id}")

    other = sqlite3.connect(path, isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")  # the other process's transaction
    statuses = []
    mover = threading.Thread(target=lambda: statuses.append(ada.hx(
        "PATCH", f"/boards/{board_id}/cards/{ids['Four']}/move", data={"column_id": column_id, "position": 1},
    ).status_code))
    mover.start()
    time.sleep(0.5)
    assert mover.is_alive()  # queued behind the other writer
    other.execute("UPDATE cards SET column_id = ?, position = ? WHERE id = ?",
                  (column_id, key_between(one, two), ids["Three"]))  # Three between One and Two
    other.execute("COMMIT")
    other.close()
    mover.join(10)
    assert statuses == [200]
    with app.app_context():
        rows = db.session.execute(select(Card.title, Card.position).where(Card.column_id == column_id)
                                  .order_by(Card.position)).all()
        assert [title for title, _ in rows] == ["One", "Four", "Three", "Two"]
        assert len({key for _, key in rows}) == 4
        db.session.remove()
        db.engine.dispose()
