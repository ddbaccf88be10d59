"""A compact map from platform message ids to slot numbers, for millions of ids."""

from __future__ import annotations

from array import array
from hashlib import blake2b

_EMPTY = 0


def _key(message_id: str) -> int:
    # A hash that is the same in every process (Python's own `hash` of a string is salted per process),
    # because the table is saved in index snapshots and loaded by later processes. Two ids colliding on
    # 64 bits among a million is about 3e-8, an accepted risk; blake2b keeps it so for crafted ids too.
    h = int.from_bytes(blake2b(message_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little",
                       signed=True)
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

    def arrays(self) -> tuple[array[int], array[int]]:
        """The table's two flat arrays (keys, values), to be saved as they are."""
        return self._keys, self._values

    @classmethod
    def from_arrays(cls, keys: array[int], values: array[int], size: int | None = None) -> IdTable:
        """A table from the arrays `arrays` returned, holding `size` ids (counted if not given).

        Checked: a bad file must not make a table whose lookups never end.
        """
        n = len(keys)
        if n < 1024 or n & (n - 1) or len(values) != n or keys.typecode != "q" or values.typecode != "i":
            raise ValueError("not an id table")
        table = cls.__new__(cls)
        table._keys, table._values, table._mask = keys, values, n - 1
        table._size = n - keys.count(_EMPTY) if size is None else size
        if not 0 <= table._size * 2 <= n:
            raise ValueError("id table over its load factor")
        return table

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


class IdList:
    """A list of platform ids as one UTF-8 buffer and an array of offsets: about 25 bytes an id, where a
    list of strings costs about 75 (a third of a million thread ids: 8 MB instead of 25)."""

    __slots__ = ("_data", "_ends")

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("q")

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> str:
        ends = self._ends
        start = ends[i - 1] if i > 0 else 0
        return self._data[start : ends[i]].decode("utf-8", "surrogatepass")

    def append(self, value: str) -> None:
        """Add an id at the end."""
        self._data += value.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._data))

    def arrays(self) -> tuple[bytearray, array[int]]:
        """The buffer and the offsets (each id's end), to be saved as they are."""
        return self._data, self._ends

    @classmethod
    def from_arrays(cls, data: bytearray, ends: array[int]) -> IdList:
        """A list from what `arrays` returned (checked: offsets must rise and stay in the buffer)."""
        if ends.typecode != "q" or (ends and (ends[-1] != len(data) or ends[0] < 0)):
            raise ValueError("not an id list")
        if any(map(int.__gt__, ends[:-1], ends[1:])):
            raise ValueError("id list offsets go backwards")
        out = cls.__new__(cls)
        out._data, out._ends = data, ends
        return out
