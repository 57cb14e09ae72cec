import random

import pytest

from webapp.ordering import DIGITS, MAX_KEY, key_at, key_between, keys_after, spread


def test_key_between_sorts_between_neighbours():
    assert "" < key_between(None, None)
    first = key_between(None, None)
    after = key_between(first, None)
    before = key_between(None, first)
    middle = key_between(before, first)
    assert before < middle < first < after


def assert_room_between(keys):
    """Every key is of the alphabet, and another key still fits between any two neighbours."""
    for key in keys:
        assert set(key) <= set(DIGITS)
    for before, after in zip(keys, keys[1:]):
        assert before < key_between(before, after) < after


def test_random_inserts_keep_order_and_stay_short():
    keys = []
    rng = random.Random(7)
    for _ in range(2000):
        index = rng.randint(0, len(keys))
        before = keys[index - 1] if index else None
        after = keys[index] if index < len(keys) else None
        key = key_between(before, after)
        assert (before is None or before < key) and (after is None or key < after)
        keys.insert(index, key)
    assert keys == sorted(keys)
    assert max(map(len, keys)) < 20
    assert_room_between(keys)


def test_repeated_insert_at_top_stays_ordered():
    keys = ["i"]
    for _ in range(200):
        keys.insert(0, key_between(None, keys[0]))
    assert keys == sorted(keys)


def test_keys_after_appends_in_order():
    keys = keys_after("k", 5)
    assert keys == sorted(keys) and keys[0] > "k"


def test_neighbours_out_of_order_are_refused():
    with pytest.raises(ValueError):
        key_between("b", "a")


def test_appends_and_prepends_grow_keys_logarithmically():
    """Before: each append made the key about one character longer every five appends, so the
    385th card of a column no longer fitted PostgreSQL's 64 characters."""
    appended = keys_after(None, 100_000)
    assert appended == sorted(appended) and len(set(appended)) == len(appended)
    assert max(map(len, appended)) <= 5
    top, prepended = None, []
    for _ in range(100_000):
        top = key_between(None, top)
        prepended.append(top)
    assert prepended == sorted(prepended, reverse=True)
    assert max(map(len, prepended)) <= 5


def test_old_keys_still_work():
    """Keys written by the previous scheme (`i`, `r`, `zz4`, long runs of `z`) sort among new ones."""
    old = ["4", "9", "i", "iz", "r", "zz4", "z" * 60 + "i"]
    for before, after in zip([None] + old, old + [None]):
        key = key_between(before, after)
        assert (before is None or before < key) and (after is None or key < after)
    assert key_between("z" * 60 + "i", None) > "z" * 60 + "i"


def test_no_room_or_equal_neighbours_say_so_and_key_at_asks_for_a_rebalance():
    with pytest.raises(ValueError):
        key_between("i", "i0")  # an old key and a new one with nothing between
    with pytest.raises(ValueError):
        key_between("i3", "i3")
    assert key_at(["i0", "i3", "i3"], 2) is None  # duplicated positions
    crowded = ["i0" + "1" * 22, "i0" + "1" * 21 + "2"]  # 24 characters each, adjacent
    assert key_at(crowded, 1) is None and len(key_between(*crowded)) > MAX_KEY
    assert key_at(["i0", "i3"], 1) == key_between("i0", "i3")


def test_spread_is_short_ordered_and_leaves_room():
    keys = spread(20_000)
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert max(map(len, keys)) <= 4 < MAX_KEY
    assert_room_between(keys[:50] + keys[-50:])


from hypothesis import given, settings, strategies as st  # noqa: E402

KEY = st.text(alphabet=DIGITS, min_size=1, max_size=30)  # any key, older schemes' included


@settings(max_examples=2000, deadline=None)
@given(KEY, KEY)
def test_any_two_keys_get_a_key_strictly_between_or_a_clear_no(a, b):
    before, after = min(a, b), max(a, b)
    for low, high in ((before, after), (None, after), (before, None)):
        try:
            key = key_between(low, high)
        except ValueError:
            # An open end has room, except below keys of zeros only (nothing sorts before `0`).
            assert (low is not None and high is not None) or (low is None and not high.strip("0"))
            continue
        assert set(key) <= set(DIGITS)
        assert (low is None or low < key) and (high is None or key < high)
