"""Order keys: strings that sort the way cards and columns are shown.

A key is a base-36 fraction (digits then lowercase letters, which every SQL collation
sorts alike). `key_between(a, b)` returns a key strictly between two neighbours, so
moving one item writes one key and leaves every other row alone.
"""
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after `before` and before `after` (None means the open end)."""
    before = before or ""
    if after is not None and after <= before:
        raise ValueError(f"{before!r} must sort before {after!r}")
    return _midpoint(before, after)


def _midpoint(a: str, b: str | None) -> str:
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


def keys_after(last: str | None, count: int) -> list[str]:
    """`count` increasing keys after `last`, for appending several items at once."""
    keys = []
    for _ in range(count):
        last = key_between(last, None)
        keys.append(last)
    return keys
