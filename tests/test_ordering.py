import random

import pytest

from webapp.ordering import DIGITS, key_between, keys_after


def test_key_between_sorts_between_neighbours():
    assert "" < key_between(None, None)
    first = key_between(None, None)
    after = key_between(first, None)
    before = key_between(None, first)
    middle = key_between(before, first)
    assert before < middle < first < after


def test_random_inserts_keep_order_and_stay_short():
    keys = []
    rng = random.Random(7)
    for _ in range(2000):
        index = rng.randint(0, len(keys))
        before = keys[index - 1] if index else None
        after = keys[index] if index < len(keys) else None
        key = key_between(before, after)
        assert (before is None or before < key) and (after is None or key < after)
        assert set(key) <= set(DIGITS) and not key.endswith("0")
        keys.insert(index, key)
    assert keys == sorted(keys)
    assert max(map(len, keys)) < 20


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
