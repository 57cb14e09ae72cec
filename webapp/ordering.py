"""Order keys: strings that sort the way cards, columns and checklist items are shown.

A key is made of digits and lowercase letters only, which every SQL collation (SQLite's
binary, PostgreSQL's C and ICU/libc locales, MariaDB's binary utf8mb4_bin that the key columns
use there) sorts alike: `0-9` before `a-z`. `key_between(a, b)` returns a key strictly between two neighbours, so moving one item
writes one key and leaves every other row alone.

A key is an integer part, then an optional fraction (after fractional-indexing, by David
Greenspan and rocicorp). The integer part's first character says how many base-36 digits follow:
`i`..`z` start 1..18 digits of the integers from zero up, `h`..`0` 1..18 digits of the integers
below zero, so `i0` < `i1` < ... < `iz` < `j00` and `hz` < `i0`. Appending to the end (or adding
at the top) counts the integer up (or down), so a key grows by one character per factor of 36:
a column of 10,000 cards appended one by one ends at `k6or`. Only inserting again and again at
the same spot between two items grows the fraction, about one character per five inserts.

`place()` does that inside a transaction and rebalances the rows (fresh, evenly spaced keys for
the whole column, board or checklist) when the key would grow past `MAX_KEY`, when neighbours are
equal (positions duplicated by an old bug or a concurrent writer) or when no key fits between
them. Keys written before this scheme (`i`, `r`, `zz4`...) still sort and still work: a key
between them is found the old way, and a rebalance replaces them.
"""
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
ZERO_HEAD = DIGITS.index("i")  # heads at and above it start integers >= 0
MAX_DIGITS = BASE - ZERO_HEAD  # 18 digits after `z` (and after `0`)
# A key longer than this is not written: the rows are rebalanced instead (the column holds 64).
MAX_KEY = 24


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after `before` and before `after` (None means the open end).

    ValueError when there is none: `after` does not sort after `before` (equal neighbours),
    or two old-style keys leave no room (`i` and `i0`). `place()` then rebalances."""
    if after is not None and before is not None and after <= before:
        raise ValueError(f"{before!r} must sort before {after!r}")
    parts_before = _split(before) if before is not None else None
    parts_after = _split(after) if after is not None else None
    if before is None and after is not None and parts_after is None:
        # At the top of older keys: the first integer key below it, so the next ones count down.
        below = next((key for key in TOP_KEYS if key < after), None)
        return below if below is not None else _legacy_between("", after)
    if (before is not None and parts_before is None) or (after is not None and parts_after is None):
        return _legacy_between(before or "", after)
    if parts_before is None and parts_after is None:
        return _encode(0)
    if parts_before is None:
        integer, fraction = parts_after
        if fraction:
            return integer  # the integer alone sorts before it with a fraction
        value = _decode(integer)
        if not _fits(value - 1):  # the smallest integer: nothing sorts before it
            raise ValueError(f"no key before {after!r}")
        return _encode(value - 1)
    if parts_after is None:
        integer, fraction = parts_before
        value = _decode(integer)
        return _encode(value + 1) if _fits(value + 1) else integer + _midpoint(fraction, None)
    (integer_a, fraction_a), (integer_b, fraction_b) = parts_before, parts_after
    if integer_a == integer_b:
        return integer_a + _midpoint(fraction_a, fraction_b)
    following = _encode(_decode(integer_a) + 1) if _fits(_decode(integer_a) + 1) else None
    if following is not None and following < after:
        return following
    return integer_a + _midpoint(fraction_a, None)


# Integer keys that sort just below zero's head, largest first: `i0`, `hz`, `gzz`, ...
TOP_KEYS = ["i0"] + [DIGITS[head] + "z" * (ZERO_HEAD - head) for head in range(ZERO_HEAD - 1, -1, -1)]


def keys_after(last: str | None, count: int) -> list[str]:
    """`count` increasing keys after `last`, for appending several items at once."""
    keys = []
    for _ in range(count):
        last = key_between(last, None)
        keys.append(last)
    return keys


def spread(count: int) -> list[str]:
    """`count` fresh, evenly spaced increasing keys: what a rebalance writes (`i0`, `i1`, ...)."""
    return [_encode(value) for value in range(count)]


def is_short(key: str) -> bool:
    return len(key) <= MAX_KEY


# --- placing an item inside a transaction ------------------------------------------------------

def key_at(keys: Sequence[str], index: int, shown: Sequence[bool] | None = None) -> str | None:
    """The key that puts an item at `index` among `keys` (sorted, without the item itself), or
    among those of them that are `shown` (archived cards keep their keys but do not count);
    None when no short key fits there: the caller then rebalances."""
    slot = _slot(shown, index) if shown is not None else max(0, min(index, len(keys)))
    try:
        key = key_between(keys[slot - 1] if slot > 0 else None, keys[slot] if slot < len(keys) else None)
    except ValueError:  # equal neighbours, or old keys with no room between them
        return None
    return key if is_short(key) else None


def place(session: Session, model, scope, index: int | None, *, parent: tuple, moving_id: int | None = None,
          shown=None) -> str:
    """The key that puts an item at `index` (None: the end) among the other items of `scope`
    (e.g. `BoardColumn.board_id == 7`); `shown` narrows which items count for the index
    (active cards), `moving_id` is the item being moved, left out of its neighbours, and
    `parent` (model, id) the row that `lock_parent` locks.

    One SELECT, and a rebalance of `scope` in the same transaction when no short key fits;
    the caller writes the returned key to the moving item, or adds the new one with it."""
    lock_parent(session, *parent)
    if index is None:
        last = session.scalar(fresh(session, select(func.max(model.position)).where(scope)))
        key = key_between(last, None)  # after the largest key there is always room
        return key if is_short(key) else rebalance(session, model, scope, None)
    columns = [model.position] + ([shown.label("shown")] if shown is not None else [])
    statement = select(*columns).where(scope)
    if moving_id is not None:
        statement = statement.where(model.id != moving_id)
    rows = session.execute(fresh(session, statement.order_by(model.position, model.id))).all()
    keys = [row[0] for row in rows]
    flags = [row[1] for row in rows] if shown is not None else None
    return key_at(keys, index, flags) or rebalance(session, model, scope, index, moving_id=moving_id, shown=shown)


def lock_parent(session: Session, parent, parent_id: int) -> None:
    """Serialize the writers of one column's (board's, checklist's) order on a database server.

    Reading the neighbours and then writing between them must not interleave with another
    writer doing the same, or both write the same key. SQLite takes its database-wide write
    lock when a mutating request begins (webapp/sqlite_lock.py); PostgreSQL and MariaDB lock
    the parent row (the column, board or card) here until the transaction ends. On PostgreSQL
    it is FOR NO KEY UPDATE, which rows referencing the parent (an activity of the board, a card
    of the column) do not wait for: with FOR UPDATE a column moved while a card moved into it
    could deadlock."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(parent.id).where(parent.id == parent_id).with_for_update(key_share=True))


def fresh(session: Session, statement):
    """`statement`, reading the newest committed rows: MariaDB's repeatable read would
    otherwise read the transaction's first snapshot, from before `lock_parent` waited."""
    if session.get_bind().dialect.name in ("mysql", "mariadb"):
        return statement.with_for_update(read=True)
    return statement


def rebalance(session: Session, model, scope, index: int | None, *, moving_id: int | None = None,
              shown=None) -> str:
    """Give every row of `scope` a fresh key in its current order (position, then id, so equal
    keys come apart the way the page already shows them), leaving a slot for the moving or new
    item at `index` among the `shown` rows (None: at the end); return the slot's key."""
    columns = [model.id, model.position] + ([shown.label("shown")] if shown is not None else [])
    statement = select(*columns).where(scope)
    if moving_id is not None:
        statement = statement.where(model.id != moving_id)
    rows = session.execute(fresh(session, statement.order_by(model.position, model.id))).all()
    slot = len(rows) if index is None else (
        _slot([row.shown for row in rows], index) if shown is not None else max(0, min(index, len(rows))))
    ids = [row.id for row in rows]
    ids.insert(slot, None)
    keys = _rewrite(session, model, ids, {row.id: row.position for row in rows})
    return keys[slot]


def repair(session: Session, model, scope) -> int:
    """Fresh keys for every row of `scope` in the order shown (position, then id); returns how
    many rows changed. For positions that an older version duplicated or let grow long."""
    rows = session.execute(select(model.id, model.position).where(scope).order_by(model.position, model.id)).all()
    keys = _rewrite(session, model, [row.id for row in rows], {row.id: row.position for row in rows})
    return sum(row.position != key for row, key in zip(rows, keys))


def _rewrite(session: Session, model, ids: list[int | None], old: dict[int, str]) -> list[str]:
    """Give the rows `ids` (None: a slot for an item not written yet) evenly spaced keys in that
    order, one UPDATE per row that changes (executemany); return the keys."""
    keys = spread(len(ids))
    changes = [{"row_id": row_id, "new_position": key} for row_id, key in zip(ids, keys)
               if row_id is not None and old[row_id] != key]
    if changes:
        table = model.__table__
        # A new key is no change anyone made: `updated_at` stays as it was.
        unchanged = {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}
        session.execute(
            update(table).where(table.c.id == bindparam("row_id"))
            .values(position=bindparam("new_position"), **unchanged), changes)
        # Objects already loaded keep their old position until they are loaded again.
        for obj in list(session.identity_map.values()):
            if isinstance(obj, model) and obj.id in old:
                session.expire(obj, ["position"])
    return keys


def _slot(shown: Sequence[bool], index: int) -> int:
    """Where, among all rows, an item goes to land at `index` among the shown ones: right
    after the shown row before it, before any hidden rows that follow that one; at the top,
    just before the first shown row."""
    if index <= 0:
        return next((i for i, flag in enumerate(shown) if flag), len(shown))
    seen = 0
    for i, flag in enumerate(shown):
        if flag:
            seen += 1
            if seen == index:
                return i + 1
    return len(shown)


# --- the integer part -------------------------------------------------------------------------

def _span(length: int) -> int:
    """How many integers the heads before a `length`-digit head cover (on one side of zero)."""
    return sum(BASE ** n for n in range(1, length))


def _fits(value: int) -> bool:
    return -_span(MAX_DIGITS + 1) <= value < _span(MAX_DIGITS + 1)


def _encode(value: int) -> str:
    if value >= 0:
        length = 1
        while value >= _span(length + 1):
            length += 1
        return DIGITS[ZERO_HEAD + length - 1] + _digits(value - _span(length), length)
    length = 1
    while -value > _span(length + 1):
        length += 1
    # -1 is `hz`, -36 `h0`, -37 `gzz`: the digits count up towards zero within a head.
    return DIGITS[ZERO_HEAD - length] + _digits(value + _span(length + 1), length)


def _decode(integer: str) -> int:
    head = DIGITS.index(integer[0])
    value = int(integer[1:], BASE)
    if head >= ZERO_HEAD:
        return _span(head - ZERO_HEAD + 1) + value
    return value - _span(ZERO_HEAD - head + 1)


def _digits(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, digit = divmod(value, BASE)
        out.append(DIGITS[digit])
    return "".join(reversed(out))


def _split(key: str) -> tuple[str, str] | None:
    """(integer part, fraction) of a key of this scheme; None for an older key."""
    if not key or any(char not in DIGITS for char in key):
        return None
    head = DIGITS.index(key[0])
    length = head - ZERO_HEAD + 1 if head >= ZERO_HEAD else ZERO_HEAD - head
    if len(key) < 1 + length:
        return None
    integer, fraction = key[:1 + length], key[1 + length:]
    if fraction.endswith("0"):
        return None  # nothing sorts between `x` and `x0`: not a key this scheme writes
    return integer, fraction


# --- fractions --------------------------------------------------------------------------------

def _midpoint(a: str, b: str | None) -> str:
    """A digit string strictly between fractions `a` and `b` (None: no upper bound), neither
    ending in 0, so there is always room for another."""
    if b is not None:
        prefix = 0
        while prefix < len(b) and (a[prefix] if prefix < len(a) else "0") == b[prefix]:
            prefix += 1
        if prefix:
            return b[:prefix] + _midpoint(a[prefix:], b[prefix:])
    low = DIGITS.index(a[0]) if a else 0
    high = DIGITS.index(b[0]) if b is not None else BASE
    if high - low > 1:
        return DIGITS[(low + high) // 2]
    if b is not None and len(b) > 1:
        return b[:1]
    return DIGITS[low] + _midpoint(a[1:], None)


def _legacy_between(before: str, after: str | None) -> str:
    """Between keys of any shape (older ones): a plain base-36 midpoint, as keys were made before."""
    try:
        key = _midpoint(before, after)
    except (IndexError, ValueError) as error:  # e.g. `i` and `i0`: nothing between
        raise ValueError(f"no key between {before!r} and {after!r}") from error
    if not before < key or (after is not None and not key < after):
        raise ValueError(f"no key between {before!r} and {after!r}")
    return key
