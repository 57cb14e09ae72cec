"""Order keys stay short whatever happens: 10,000 appends, 10,000 moves to the top, inserts again
and again at one spot, duplicated positions, keys written by the older scheme. On SQLite and on
PostgreSQL (whose VARCHAR(64) refused the 385th appended card with a 500 before)."""
import os
import random
import re

import pytest
from sqlalchemy import bindparam, func, insert, select, text, update

from tests.conftest import UserClient, app_config, fresh_app, make_board, make_user
from webapp.operations.cards import position_key
from webapp.extensions import db
from webapp.models import ORDER_KEY_MAX, Board, BoardColumn, Card, ChecklistItem
from webapp.ordering import MAX_KEY, key_between, keys_after, place

POSTGRES = next((url for url in (os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_DATABASE_URL"))
                 if url and url.startswith("postgresql")), None)
MARIADB = next((url for url in (os.environ.get("TEST_MARIADB_URL"), os.environ.get("TEST_DATABASE_URL"))
                if url and url.startswith(("mysql", "mariadb"))), None)


def postgres_reachable() -> bool:
    if POSTGRES is None:
        return False
    import psycopg
    try:
        psycopg.connect(POSTGRES.replace("+psycopg", ""), connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def backend(request, tmp_path):
    """A fresh app on SQLite, or on the PostgreSQL of TEST_POSTGRES_URL / TEST_DATABASE_URL, or
    the MariaDB of TEST_MARIADB_URL / TEST_DATABASE_URL."""
    if request.param == "postgresql":
        if not postgres_reachable():
            pytest.skip("no PostgreSQL: set TEST_POSTGRES_URL (or TEST_DATABASE_URL) to a reachable database")
        url = POSTGRES
    elif request.param == "mariadb":
        if MARIADB is None:
            pytest.skip("no MariaDB: set TEST_MARIADB_URL (or TEST_DATABASE_URL) to a reachable database")
        url = MARIADB
    else:
        url = f"sqlite:///{tmp_path / 'keys.db'}"
    yield from fresh_app(app_config(url, tmp_path, RATELIMIT_ENABLED=False))


def board_with(app, columns):
    with app.app_context():
        board = make_board(make_user("Ada"), columns=columns)
        return board.id, {column.title: column.id for column in board.columns}


def order_of(column_id) -> list[tuple[int, str]]:
    """(id, key) of a column's cards as the board shows them, archived ones included."""
    return db.session.execute(select(Card.id, Card.position).where(Card.column_id == column_id)
                              .order_by(Card.position, Card.id)).tuples().all()


def assert_short_and_unique(rows):
    keys = [key for _, key in rows]
    assert max(map(len, keys)) <= MAX_KEY < ORDER_KEY_MAX
    assert len(set(keys)) == len(keys), "duplicated positions"


def through_the_database(app) -> int:
    """How many of the 10,000 operations go through the real functions, a statement or three
    each; on PostgreSQL (~1 ms a round trip here) the first ones are computed by the same key
    function in Python and written at once, and the last 1,000 go through the database."""
    return 10_000 if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else 1_000


def test_ten_thousand_appends_keep_keys_short(backend):
    _, columns = board_with(backend, {"To do": []})
    column_id = columns["To do"]
    with backend.app_context():
        board_id = db.session.get(BoardColumn, column_id).board_id
        new_card = insert(Card.__table__)  # the plain row: the ORM's flush would be most of the time
        row = {"board_id": board_id, "column_id": column_id, "description": "", "version": 1}
        ahead = 10_000 - through_the_database(backend)
        # What place() computes for an append: the key after the column's largest.
        keys = keys_after(None, ahead)
        if keys:
            db.session.execute(new_card, [dict(row, title=f"Card {n}", position=key) for n, key in enumerate(keys)])
        for number in range(ahead, 10_000):
            key = place(db.session, Card, Card.column_id == column_id, None, parent=(BoardColumn, column_id))
            db.session.execute(new_card, dict(row, title=f"Card {number}", position=key))
        db.session.commit()
        rows = order_of(column_id)
        titles = db.session.execute(select(Card.id, Card.title)).tuples().all()
        by_title = {title: card_id for card_id, title in titles}
        assert [card_id for card_id, _ in rows] == [by_title[f"Card {n}"] for n in range(10_000)]
        assert_short_and_unique(rows)
        assert max(len(key) for _, key in rows) <= 4


def test_ten_thousand_moves_to_the_top_keep_keys_short(backend):
    _, columns = board_with(backend, {"To do": [f"Card {n}" for n in range(40)]})
    column_id = columns["To do"]
    with backend.app_context():
        expected = [card_id for card_id, _ in order_of(column_id)]
        cards = {card.id: card for card in db.session.scalars(select(Card))}
        write = update(Card.__table__).where(Card.__table__.c.id == bindparam("card_id"))
        longest = 0
        ahead = 10_000 - through_the_database(backend)
        if ahead:  # what position_key() computes for the top: the key before the first card's
            keys = dict(order_of(column_id))
            for _ in range(ahead):
                expected.insert(0, expected.pop())
                keys[expected[0]] = key_between(None, keys[expected[1]])
                longest = max(longest, len(keys[expected[0]]))
            db.session.execute(write, [{"card_id": card_id, "position": key} for card_id, key in keys.items()])
        for _ in range(ahead, 10_000):
            card = cards[expected[-1]]  # the bottom card goes to the top
            key = position_key(column_id, 0, moving=card)
            db.session.execute(write, {"card_id": card.id, "position": key})
            longest = max(longest, len(key))
            expected.insert(0, expected.pop())
        db.session.commit()
        rows = order_of(column_id)
        assert [card_id for card_id, _ in rows] == expected
        assert_short_and_unique(rows)
        assert longest <= 5


def model_move(order, shown, card_id, index):
    """Where a move puts `card_id` among all cards: after the `index`-th shown other card."""
    order.remove(card_id)
    if index <= 0:
        slot = next((i for i, other in enumerate(order) if other in shown), len(order))
    else:
        seen, slot = 0, len(order)
        for i, other in enumerate(order):
            if other in shown:
                seen += 1
                if seen == index:
                    slot = i + 1
                    break
    order.insert(slot, card_id)


def test_moves_to_one_spot_rebalance_in_the_same_transaction_and_keep_the_order(backend):
    """Inserting again and again between the same two cards grows the key (one character per
    five inserts); past the bound the column is rebalanced, archived cards keeping their place."""
    _, columns = board_with(backend, {"To do": [f"Card {n}" for n in range(60)]})
    column_id = columns["To do"]
    rng = random.Random(3)
    with backend.app_context():
        order = [card_id for card_id, _ in order_of(column_id)]
        archived = set(rng.sample(order, 10))
        for card_id in archived:
            db.session.get(Card, card_id).archived_at = func.now()
        db.session.commit()
        shown = set(order) - archived
        rebalances = 0
        for number in range(600):
            card_id = rng.choice(sorted(shown))
            index = 1 if number % 3 else rng.randint(0, len(shown))
            before = dict(order_of(column_id))
            card = db.session.get(Card, card_id)
            card.position = position_key(column_id, index, moving=card)
            db.session.commit()
            model_move(order, shown, card_id, index)
            after = order_of(column_id)
            rebalances += sum(before[other] != key for other, key in after if other != card_id) > 0
            assert [other for other, _ in after] == order, f"move {number}"
            assert_short_and_unique(after)
        assert rebalances >= 1


def test_duplicated_positions_are_rebalanced_by_a_move_instead_of_a_500(backend):
    board_id, columns = board_with(backend, {"To do": ["One", "Two", "Three", "Four"], "Doing": []})
    with backend.app_context():
        db.session.execute(text("UPDATE cards SET position = 'i0'"))  # as the multi-worker bug left them
        db.session.commit()
        ids = {card.title: card.id for card in db.session.scalars(select(Card))}
    ada = UserClient(backend, "ada@example.com")
    ada.get(f"/boards/{board_id}")
    response = ada.hx("PATCH", f"/boards/{board_id}/cards/{ids['One']}/move",
                      data={"column_id": columns["To do"], "position": 2})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    # What every open board gets: "One" goes in before "Four".
    assert f'hx-swap-oob="beforebegin:#card-{ids["Four"]}"' in fragment and f'id="card-{ids["One"]}"' in fragment
    with backend.app_context():
        rows = order_of(columns["To do"])
        assert [card_id for card_id, _ in rows] == [ids["Two"], ids["Three"], ids["One"], ids["Four"]]
        assert_short_and_unique(rows)


def test_cards_added_and_moved_through_the_routes_never_overflow_the_column(backend):
    """Before: on PostgreSQL the 385th card added to a column failed with a 500."""
    # The first 300 as the add view makes them (each after the column's largest key), at once.
    board_id, columns = board_with(backend, {"To do": [f"Card {number}" for number in range(300)]})
    column_id = columns["To do"]
    ada = UserClient(backend, "ada@example.com")
    ada.get(f"/boards/{board_id}")
    for number in range(300, 400):
        response = ada.hx("POST", f"/boards/{board_id}/columns/{column_id}/cards", data={"title": f"Card {number}"})
        assert response.status_code == 200, (number, response.status_code)
    with backend.app_context():
        rows = order_of(column_id)
        assert_short_and_unique(rows)
        expected = [card_id for card_id, _ in rows]
        assert len(expected) == 400
    for _ in range(60):  # the bottom card to the top, as someone dragging
        response = ada.hx("PATCH", f"/boards/{board_id}/cards/{expected[-1]}/move",
                          data={"column_id": column_id, "position": 0})
        assert response.status_code == 200
        expected.insert(0, expected.pop())
    with backend.app_context():
        rows = order_of(column_id)
        assert [card_id for card_id, _ in rows] == expected
        assert_short_and_unique(rows)


CROWDED = ["i0" + "1" * 22, "i0" + "1" * 21 + "2"]  # 24 characters, nothing short between them


def test_a_column_moved_between_crowded_keys_rebalances_the_board(backend):
    board_id, columns = board_with(backend, {"A": [], "B": [], "C": []})
    with backend.app_context():
        for title, key in zip("AB", CROWDED):
            db.session.get(BoardColumn, columns[title]).position = key
        db.session.get(BoardColumn, columns["C"]).position = "j00"
        db.session.commit()
    ada = UserClient(backend, "ada@example.com")
    ada.get(f"/boards/{board_id}")
    response = ada.hx("PATCH", f"/boards/{board_id}/columns/{columns['C']}/move", data={"position": 1})
    assert response.status_code == 200
    with backend.app_context():
        keys = [column.position for column in db.session.get(Board, board_id).columns]
        assert [column.title for column in db.session.get(Board, board_id).columns] == ["A", "C", "B"]
        assert max(map(len, keys)) <= MAX_KEY and len(set(keys)) == 3


def test_checklist_items_after_an_old_long_key_stay_short(backend):
    board_id, columns = board_with(backend, {"To do": ["One"]})
    with backend.app_context():
        card = db.session.scalar(select(Card))
        db.session.add(ChecklistItem(card_id=card.id, text="Old", position="z" * 30 + "i"))  # an older long key
        db.session.commit()
        card_id = card.id
    ada = UserClient(backend, "ada@example.com")
    ada.get(f"/boards/{board_id}")
    response = ada.hx("POST", f"/boards/{board_id}/cards/{card_id}/checklist", data={"text": "New"})
    assert response.status_code == 200
    with backend.app_context():
        items = db.session.scalars(select(ChecklistItem).order_by(ChecklistItem.position)).all()
        assert [item.text for item in items] == ["Old", "New"]
        assert max(len(item.position) for item in items) <= MAX_KEY


def test_repair_positions_rewrites_duplicated_keys_in_the_order_shown(backend):
    board_id, columns = board_with(backend, {"To do": ["One", "Two", "Three", "Four"], "Doing": ["Five", "Six"],
                                             "Done": ["Seven"]})
    with backend.app_context():
        cards = {card.title: card for card in db.session.scalars(select(Card))}
        # What the multi-worker bug left: equal keys, shown in id order; and one overlong key.
        for title, key in {"One": "i5", "Two": "i5", "Three": "i2", "Four": "i5"}.items():
            cards[title].position = key
        cards["Seven"].position = "i" + "z" * 40
        board_columns = db.session.scalars(select(BoardColumn).order_by(BoardColumn.id)).all()
        for column in board_columns[1:]:
            column.position = board_columns[0].position
        first_card = cards["One"]
        for text_, key in (("a", "k"), ("b", "k"), ("c", "j")):
            db.session.add(ChecklistItem(card_id=first_card.id, text=text_, position=key))
        db.session.commit()
        untouched = {title: cards[title].position for title in ("Five", "Six")}
        edited_at = dict(db.session.execute(select(Card.id, Card.updated_at)).tuples().all())
        shown_before = {column_id: [card_id for card_id, _ in order_of(column_id)] for column_id in columns.values()}
    runner = backend.test_cli_runner()
    result = runner.invoke(args=["repair-positions"])
    assert result.exit_code == 0, result.output
    assert f"cards of column {columns['To do']}" in result.output
    assert f"cards of column {columns['Done']}" in result.output
    assert f"columns of board {board_id}" in result.output
    assert "checklist items of card" in result.output
    assert f"cards of column {columns['Doing']}" not in result.output
    with backend.app_context():
        for column_id, before in shown_before.items():
            rows = order_of(column_id)
            assert [card_id for card_id, _ in rows] == before  # the order people saw is kept
            assert_short_and_unique(rows)
        assert [cards_title for cards_title in db.session.scalars(
            select(Card.title).where(Card.title.in_(untouched)).order_by(Card.position))] == ["Five", "Six"]
        assert {card.title: card.position for card in db.session.scalars(
            select(Card).where(Card.title.in_(untouched)))} == untouched
        assert [column.title for column in db.session.get(Board, board_id).columns] == ["To do", "Doing", "Done"]
        # A fresh key is not an edit: no card shows as changed just now.
        assert dict(db.session.execute(select(Card.id, Card.updated_at)).tuples().all()) == edited_at
        assert [item.text for item in db.session.scalars(select(ChecklistItem).order_by(ChecklistItem.position))] \
            == ["c", "a", "b"]
    again = runner.invoke(args=["repair-positions"])
    assert again.exit_code == 0 and "no duplicated positions" in again.output


def test_keys_sort_alike_under_the_locale_collations_of_postgresql(backend):
    """Keys of digits and lowercase letters sort the same under C, ICU (`en`, `und`) and Python."""
    if not backend.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite compares bytes and MariaDB's key columns are utf8mb4_bin; "
                    "this checks PostgreSQL's locale collations")
    from webapp.ordering import spread
    rng = random.Random(11)
    keys = spread(500) + keys_after("z" * 5, 50) + ["i", "r", "zz4", "9", "0i"]
    top = None
    for _ in range(500):
        top = key_between(None, top)
        keys.append(top)
    ordered = sorted(set(keys))
    for _ in range(1000):
        index = rng.randint(0, len(ordered))
        ordered.insert(index, key_between(ordered[index - 1] if index else None,
                                          ordered[index] if index < len(ordered) else None))
    rng.shuffle(keys := list(ordered))
    with backend.app_context():
        for collation in ("C", "en-x-icu", "und-x-icu"):
            rows = db.session.scalars(text(f'SELECT k FROM unnest(CAST(:keys AS text[])) AS k '
                                           f'ORDER BY k COLLATE "{collation}"'), {"keys": keys}).all()
            assert rows == ordered, collation


def test_concurrent_moves_adds_and_column_moves_from_threads_keep_positions_unique(backend):
    """Eight people at once on one board, card moves, adds and column moves mixed: no error (a
    deadlock between a column's lock and its board's would be a 500) and no duplicated key. The
    threads share one interpreter, so races are rarer here than across workers: the deterministic
    cases are the test below and tests/test_sqlite_workers.py."""
    import threading
    import time
    board_id, columns = board_with(backend, {"To do": [f"Task {n}" for n in range(10)],
                                             "Doing": [f"Work {n}" for n in range(5)], "Done": []})
    with backend.app_context():
        card_ids = list(db.session.scalars(select(Card.id)))
    statuses, lock = [], threading.Lock()
    deadline = time.monotonic() + 4

    def person(seed):
        rng = random.Random(seed)
        user = UserClient(backend, "ada@example.com")
        user.get(f"/boards/{board_id}")
        while time.monotonic() < deadline:
            roll = rng.random()
            if roll < 0.7:
                response = user.hx("PATCH", f"/boards/{board_id}/cards/{rng.choice(card_ids)}/move",
                                   data={"column_id": rng.choice(list(columns.values())),
                                         "position": rng.choice([0, 1, 2, 50])})
            elif roll < 0.9:
                response = user.hx("POST", f"/boards/{board_id}/columns/{rng.choice(list(columns.values()))}/cards",
                                   data={"title": f"New {seed}"})
            else:
                response = user.hx("PATCH", f"/boards/{board_id}/columns/{rng.choice(list(columns.values()))}/move",
                                   data={"position": rng.choice([0, 1, 2])})
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=person, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(statuses) > 40 and set(statuses) == {200}, sorted(set(statuses))
    with backend.app_context():
        for model, parent in ((Card, Card.column_id), (BoardColumn, BoardColumn.board_id)):
            duplicated = db.session.execute(select(parent, model.position, func.count())
                                            .group_by(parent, model.position).having(func.count() > 1)).all()
            assert duplicated == []


def test_on_postgresql_a_move_waits_for_another_writer_of_its_column(backend):
    """Another transaction is putting a card between One and Two. Before, a move to the same
    spot neither waited nor saw it, and both cards got the same key."""
    if not backend.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL's row locks; SQLite's write lock is tested in test_sqlite_workers.py")
    import threading
    import time

    import psycopg
    board_id, columns = board_with(backend, {"To do": ["One", "Two"], "Doing": ["Three", "Four"]})
    column_id = columns["To do"]
    with backend.app_context():
        ids = {card.title: card.id for card in db.session.scalars(select(Card))}
        one, two = (db.session.get(Card, ids[title]).position for title in ("One", "Two"))
    ada = UserClient(backend, "ada@example.com")
    ada.get(f"/boards/{board_id}")
    other = psycopg.connect(POSTGRES.replace("+psycopg", ""))
    # What a move made by another worker does: lock the column, then write between its neighbours.
    other.execute("SELECT id FROM columns WHERE id = %s FOR NO KEY UPDATE", (column_id,))
    other.execute("UPDATE cards SET column_id = %s, position = %s WHERE id = %s",
                  (column_id, key_between(one, two), ids["Three"]))
    statuses = []
    mover = threading.Thread(target=lambda: statuses.append(ada.hx(
        "PATCH", f"/boards/{board_id}/cards/{ids['Four']}/move", data={"column_id": column_id, "position": 1},
    ).status_code))
    mover.start()
    time.sleep(0.5)
    other.commit()
    other.close()
    mover.join(10)
    assert statuses == [200]
    with backend.app_context():
        rows = db.session.execute(select(Card.title, Card.position).where(Card.column_id == column_id)
                                  .order_by(Card.position)).all()
        assert [title for title, _ in rows] == ["One", "Four", "Three", "Two"]
        assert len({key for _, key in rows}) == 4


def test_moving_a_column_right_past_an_archived_one_moves_it_on_the_board(backend):
    """The board numbers the columns it shows; an archived column between them used to count,
    so "Move right" on the first column put it just after the hidden one: nothing moved."""
    board_id, columns = board_with(backend, {"A": [], "B": [], "C": [], "D": []})
    ada = UserClient(backend, "ada@example.com")
    ada.get(f"/boards/{board_id}")
    assert ada.hx("PATCH", f"/boards/{board_id}/columns/{columns['B']}/archive").status_code == 200
    response = ada.hx("PATCH", f"/boards/{board_id}/columns/{columns['A']}/move", data={"position": 1})
    assert response.status_code == 200
    shown = [int(column_id) for column_id in re.findall(r'<section id="column-(\d+)"', response.get_data(as_text=True))]
    assert shown == [columns["C"], columns["A"], columns["D"]]
