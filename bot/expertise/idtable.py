"""A compact map from platform message ids to slot numbers, for millions of ids."""

from __future__ import annotations

from array import array

_EMPTY = 0


def _key(message_id: str) -> int:
    # The process-local string hash is enough: the index lives in memory and is rebuilt from storage
    # on start. Two ids colliding on 64 bits among a million is about 3e-8, an accepted risk.
    h = hash(message_id)
    return h if h != _EMPTY else 1


class IdTable:
    """Open-addressing hash table `message_id -> int` held in two flat arrays.

    A dict of a million strings to ints costs about 140 MB; this costs 12 bytes a slot (about 25 MB)
    because it stores only the 64-bit hash of each id, never the id itself.
    """

    __slots__ = ("_keys", "_mask", "_size", "_values")

    def __init__(self, capacity: int = 1024) -> None:
        n = 1024
        while n < capacity * 2:
            n *= 2
        self._keys = array("q", bytes(8 * n))
        self._values = array("i", bytes(4 * n))
        self._mask = n - 1
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def get(self, message_id: str) -> int | None:
        """Return the value stored for the id, or None."""
        h = _key(message_id)
        keys, mask = self._keys, self._mask
        i = h & mask
        while True:
            k = keys[i]
            if k == h:
                return self._values[i]
            if k == _EMPTY:
                return None
            i = (i + 1) & mask

    def put(self, message_id: str, value: int) -> None:
        """Store or replace the value for the id."""
        if (self._size + 1) * 2 > self._mask + 1:
            self._grow()
        self._put_key(_key(message_id), value)

    def setdefault(self, message_id: str, value: int) -> int | None:
        """Store the value unless the id is known; return the known value, or None if stored."""
        if (self._size + 1) * 2 > self._mask + 1:
            self._grow()
        h = _key(message_id)
        keys, mask = self._keys, self._mask
        i = h & mask
        while True:
            k = keys[i]
            if k == h:
                return self._values[i]
            if k == _EMPTY:
                keys[i] = h
                self._values[i] = value
                self._size += 1
                return None
            i = (i + 1) & mask

    def _put_key(self, h: int, value: int) -> None:
        keys, mask = self._keys, self._mask
        i = h & mask
        while True:
            k = keys[i]
            if k == _EMPTY:
                keys[i] = h
                self._values[i] = value
                self._size += 1
                return
            if k == h:
                self._values[i] = value
                return
            i = (i + 1) & mask

    def _grow(self) -> None:
        old_keys, old_values = self._keys, self._values
        n = (self._mask + 1) * 2
        self._keys = array("q", bytes(8 * n))
        self._values = array("i", bytes(4 * n))
        self._mask = n - 1
        self._size = 0
        for h, v in zip(old_keys, old_values, strict=True):
            if h != _EMPTY:
                self._put_key(h, v)
