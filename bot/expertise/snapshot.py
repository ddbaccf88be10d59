"""An expertise index saved to a file and read back, so a process starts without rebuilding it.

The index is flat arrays already (no Python object per post), so a snapshot is those arrays written
as they are, each with its CRC-32, behind a small JSON header: writing or reading a million-message
index takes well under a second, against a minute to rebuild it. Nothing in the file is executed or
unpickled: a reader trusts only array bytes of the types and sizes the header declares, checked
against the file's length, their checksums and the bounds of every array used as an index.

Declared topics are not saved (the loader reads them from storage, they are few), nor any text:
questions are kept as the term ids BM25 needs, people and threads as platform ids.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from io import BufferedReader
from pathlib import Path
from typing import IO, Any

import numpy as np

from bot.expertise import features
from bot.expertise.answers import NOBODY, AnswerLog
from bot.expertise.idtable import IdList, IdTable
from bot.expertise.index import ExpertiseIndex
from bot.expertise.postings import ThreadPostings

MAGIC = b"STWIDX\x00\x01"
FORMAT = "steward-expertise-index"
VERSION = 1  # bump on any change of what the sections mean: older files are then rebuilt, never misread
MAX_HEADER = 1 << 20
TEXT = "text"  # a section of strings joined by NUL, UTF-8 (lone surrogates kept)
SEP = "\x00"
WRITE_BUFFER = 1 << 20


class SnapshotError(Exception):
    """The file is not a snapshot this version can use (missing, corrupt, foreign or outdated)."""


def _sizes() -> dict[str, int]:
    return {tc: array(tc).itemsize for tc in "BHIiqd"}


def _text(strings: Sequence[str], what: str) -> bytes:
    joined = SEP.join(strings)
    if joined.count(SEP) != max(0, len(strings) - 1):
        raise SnapshotError(f"a {what} contains a NUL character")
    return joined.encode("utf-8", "surrogatepass")


def _sections(index: ExpertiseIndex) -> list[tuple[str, str, Any]]:
    """(name, typecode or TEXT, data) of everything the index holds, in file order."""
    p, a = index._postings, index._answers
    act = a.activity
    ids_keys, ids_values = index._ids.arrays()
    counted_keys, counted_values = index._counted.arrays()
    thread_data, thread_ends = index._thread_ids.arrays()
    return [
        ("p.len", "H", p._len), ("p.fwd_at", "I", p._fwd_at), ("p.fwd_n", "H", p._fwd_n),
        ("p.fwd_terms", "I", p._fwd_terms), ("p.fwd_tfs", "B", p._fwd_tfs),
        ("p.doc_counts", "I", array("I", map(len, p._docs))), ("p.docs", "I", p._docs), ("p.tfs", "B", p._tfs),
        ("p.words", TEXT, _text(p.words, "term")),
        ("a.names", TEXT, _text(a.names, "member id")),
        *((f"a.sums{i}", "d", s) for i, s in enumerate(act._sums)),
        ("a.ref", "d", act._ref), ("a.answers", "I", act.answers), ("a.accepted", "I", act.accepted),
        ("a.first", "d", act.first), ("a.last", "d", act.last),
        ("a.t_asker", "i", a.t_asker), ("a.t_at", "d", a.t_at), ("a.t_head", "i", a._t_head),
        ("a.r_thread", "I", a.r_thread), ("a.r_author", "i", a.r_author), ("a.r_at", "d", a.r_at),
        ("a.r_acc", "B", a.r_acc), ("a.r_acc_n", "B", a.r_acc_n), ("a.r_up", "H", a.r_up),
        ("a.r_prev", "i", a._r_prev),
        ("x.ids_keys", "q", ids_keys), ("x.ids_values", "i", ids_values),
        ("x.counted_keys", "q", counted_keys), ("x.counted_values", "i", counted_values),
        ("x.thread_data", "B", thread_data), ("x.thread_ends", "q", thread_ends),
        ("x.root_known", "B", index._root_known),
    ]


NAMES = ("p.len", "p.fwd_at", "p.fwd_n", "p.fwd_terms", "p.fwd_tfs", "p.doc_counts", "p.docs", "p.tfs", "p.words",
         "a.names", "a.sums0", "a.sums1", "a.sums2", "a.ref", "a.answers", "a.accepted", "a.first", "a.last",
         "a.t_asker", "a.t_at", "a.t_head", "a.r_thread", "a.r_author", "a.r_at", "a.r_acc", "a.r_acc_n", "a.r_up",
         "a.r_prev", "x.ids_keys", "x.ids_values", "x.counted_keys", "x.counted_values", "x.thread_data",
         "x.thread_ends", "x.root_known")


def _parts(data: Any) -> Iterable[Any]:
    return data if isinstance(data, list) else (data,)


def _nbytes(data: Any) -> int:
    return sum(memoryview(part).nbytes for part in _parts(data))


def save(index: ExpertiseIndex, path: Path, meta: Mapping[str, Any]) -> int:
    """Write the index to `path` atomically (a temporary file renamed over it); returns its size.

    The index must not change meanwhile: the caller owns it (a build) or holds its updates back.
    """
    sections = _sections(index)
    assert tuple(name for name, _tc, _data in sections) == NAMES
    if len(index.weights) != len(features.PRIOR):
        raise SnapshotError("unexpected number of weights")
    header = {
        "format": FORMAT, "version": VERSION, "byteorder": sys.byteorder, "sizes": _sizes(),
        "meta": dict(meta),
        "index": {"n_docs": index._postings.n_docs, "total_len": index._postings._total_len,
                  "latest": index._latest, "weights": list(index.weights),
                  "strings": {"p.words": len(index._postings.words), "a.names": len(index._answers.names)}},
        "sections": [[name, tc, _nbytes(data), _crc(data)] for name, tc, data in sections],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        # Readable by Steward's user only, as its database should be: it names members and threads.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb", buffering=WRITE_BUFFER) as f:
            f.write(MAGIC + len(head).to_bytes(4, "little") + head)
            for _name, _tc, data in sections:
                for part in _parts(data):
                    f.write(part)
            f.flush()
            os.fsync(f.fileno())
            size = f.tell()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return size


def _crc(data: Any) -> int:
    crc = 0
    for part in _parts(data):
        crc = zlib.crc32(part, crc)
    return crc


def read_header(f: IO[bytes], size: int) -> dict[str, Any]:
    """The header of an open snapshot file of `size` bytes, checked against this version and machine."""
    start = f.read(12)
    if len(start) != 12 or start[:8] != MAGIC:
        raise SnapshotError("not an expertise index snapshot")
    n = int.from_bytes(start[8:], "little")
    if n > MAX_HEADER or 12 + n > size:
        raise SnapshotError("truncated header")
    try:
        header = json.loads(f.read(n))
    except ValueError as exc:
        raise SnapshotError("unreadable header") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SnapshotError("not an expertise index snapshot")
    if header.get("version") != VERSION:
        raise SnapshotError(f"made by another version of the format ({header.get('version')!r}, this is {VERSION})")
    if header.get("byteorder") != sys.byteorder or header.get("sizes") != _sizes():
        raise SnapshotError("made on a machine with other number sizes")
    sections = header.get("sections")
    if not isinstance(sections, list) or not all(
            isinstance(s, list) and len(s) == 4 and isinstance(s[0], str) and s[1] in (*_sizes(), TEXT)
            and isinstance(s[2], int) and s[2] >= 0 and isinstance(s[3], int) for s in sections):
        raise SnapshotError("bad section table")
    if tuple(s[0] for s in sections) != NAMES:
        raise SnapshotError("unexpected sections")
    if 12 + n + sum(s[2] for s in sections) != size:
        raise SnapshotError("the file's length does not match its header (truncated?)")
    if not isinstance(header.get("meta"), dict) or not isinstance(header.get("index"), dict):
        raise SnapshotError("bad header")
    return header


def peek(path: Path) -> dict[str, Any]:
    """The caller's metadata saved with a snapshot, without reading the arrays."""
    try:
        with open(path, "rb") as f:
            meta: dict[str, Any] = read_header(f, os.fstat(f.fileno()).st_size)["meta"]
            return meta
    except OSError as exc:
        raise SnapshotError(f"cannot read it: {exc.strerror or exc}") from exc


def load(path: Path) -> tuple[ExpertiseIndex, dict[str, Any]]:
    """Read a snapshot back into an index; returns it and the metadata saved with it.

    Raises SnapshotError for anything but a whole, intact snapshot of this format.
    """
    try:
        with open(path, "rb") as f:
            header = read_header(f, os.fstat(f.fileno()).st_size)
            data: dict[str, Any] = {}
            for name, tc, nbytes, crc in header["sections"]:
                if tc == TEXT:
                    raw: Any = f.read(nbytes)
                elif name in SPLIT and "p.doc_counts" in data:
                    raw = _split(f, tc, nbytes, data["p.doc_counts"], name,
                                 len(data["p.len"]) if name == "p.docs" else None)
                else:
                    raw = array(tc)
                    if nbytes % raw.itemsize:
                        raise SnapshotError(f"section {name} is not whole items")
                    raw.fromfile(f, nbytes // raw.itemsize)
                if _crc(raw) != crc:
                    raise SnapshotError(f"section {name} is corrupt (checksum)")
                data[name] = raw
    except OSError as exc:
        raise SnapshotError(f"cannot read it: {exc.strerror or exc}") from exc
    except EOFError as exc:
        raise SnapshotError("truncated") from exc
    try:
        index = _index(header["index"], data)
    except (KeyError, TypeError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"inconsistent content ({exc})") from exc
    meta: dict[str, Any] = header["meta"]
    return index, meta


SPLIT = ("p.docs", "p.tfs")  # one array per term in memory


def _split(f: BufferedReader, tc: str, nbytes: int, counts: array[int], name: str, limit: int | None = None
           ) -> list[array[int]]:
    """A section that holds one array per term, `counts[t]` items each (values below `limit`, if given)."""
    item = array(tc).itemsize
    if sum(counts) * item != nbytes:
        raise SnapshotError(f"section {name} does not match its posting counts")
    data = bytearray(nbytes)
    if f.readinto(data) != nbytes:
        raise SnapshotError(f"section {name} is truncated")
    if limit is not None and nbytes and int(np.frombuffer(data, dtype=np.dtype(tc)).max()) >= limit:
        raise SnapshotError(f"section {name}: a value out of range")
    view, out, at = memoryview(data), [], 0
    for n in counts:
        a = array(tc)
        a.frombytes(view[at : at + n * item])
        out.append(a)
        at += n * item
    view.release()
    return out


def _strings(data: dict[str, Any], name: str, count: int) -> list[str]:
    if not isinstance(count, int):
        raise ValueError(f"{name}: bad count")
    if count == 0:
        if data[name]:
            raise ValueError(f"{name}: bad count")
        return []
    out = bytes(data[name]).decode("utf-8", "surrogatepass").split(SEP)
    if len(out) != count:
        raise ValueError(f"{name}: {len(out)} strings, expected {count}")
    return out


def _np(arr: array[Any]) -> Any:
    """A NumPy view of an array, no copy (checking millions of values one by one takes a second)."""
    return np.frombuffer(arr, dtype=np.dtype(arr.typecode))


def _within(arr: array[int], low: int, high: int, name: str) -> None:
    """Every value in [low, high): a bad file must fail here, not later in a question."""
    if arr:
        v = _np(arr)
        if int(v.min()) < low or int(v.max()) >= high:
            raise ValueError(f"{name}: a value out of range")


def _table(keys: array[int], values: array[int]) -> IdTable:
    return IdTable.from_arrays(keys, values, len(keys) - int(np.count_nonzero(_np(keys) == 0)))


def _same_length(n: int, *arrays: Sequence[Any]) -> None:
    if any(len(a) != n for a in arrays):
        raise ValueError("arrays of different lengths")


def _index(info: dict[str, Any], d: dict[str, Any]) -> ExpertiseIndex:
    strings = info["strings"]
    words = _strings(d, "p.words", strings["p.words"])
    names = _strings(d, "a.names", strings["a.names"])
    thread_ids = IdList.from_arrays(bytearray(d["x.thread_data"]), d["x.thread_ends"])
    n_terms, n_members, n_threads = len(words), len(names), len(thread_ids)
    n_replies = len(d["a.r_thread"])
    n_slots = len(d["p.len"])

    # Members and their activity.
    _same_length(n_members, *(d[f"a.sums{i}"] for i in range(3)), d["a.ref"], d["a.answers"], d["a.accepted"],
                 d["a.first"], d["a.last"])
    # Threads and replies.
    _same_length(n_threads, d["a.t_asker"], d["a.t_at"], d["a.t_head"], d["x.root_known"])
    _same_length(n_replies, d["a.r_author"], d["a.r_at"], d["a.r_acc"], d["a.r_acc_n"], d["a.r_up"], d["a.r_prev"])
    _within(d["a.t_asker"], NOBODY, n_members, "t_asker")
    _within(d["a.r_author"], NOBODY, n_members, "r_author")
    _within(d["a.r_thread"], 0, n_threads, "r_thread")
    _within(d["a.t_head"], -1, n_replies, "t_head")
    _within(d["a.r_prev"], -1, n_replies, "r_prev")
    if n_replies and bool(np.any(_np(d["a.r_prev"]) >= np.arange(n_replies))):
        raise ValueError("r_prev: a reply chain that loops")  # replies chain to earlier ones only
    # Postings: per slot, per term, and the forward index.
    if n_slots > n_threads:
        raise ValueError("more question slots than threads")
    _same_length(n_slots, d["p.fwd_at"], d["p.fwd_n"])
    _same_length(n_terms, d["p.doc_counts"])
    if len(d["p.docs"]) != n_terms or len(d["p.tfs"]) != n_terms:
        raise ValueError("posting lists (read before the counts?)")
    _same_length(len(d["p.fwd_terms"]), d["p.fwd_tfs"])
    _within(d["p.fwd_terms"], 0, n_terms, "fwd_terms")
    if n_slots and int((_np(d["p.fwd_at"]).astype(np.int64) + _np(d["p.fwd_n"])).max()) > len(d["p.fwd_terms"]):
        raise ValueError("fwd_at: past the forward index")
    weights = tuple(float(w) for w in info["weights"])
    if len(weights) != len(features.PRIOR):
        raise ValueError("weights")

    p = ThreadPostings()
    p.words = words
    p.vocab = dict(zip(words, range(n_terms), strict=True))
    if len(p.vocab) != n_terms:
        raise ValueError("repeated terms")
    p._docs, p._tfs = d["p.docs"], d["p.tfs"]
    p._len, p._fwd_at, p._fwd_n = d["p.len"], d["p.fwd_at"], d["p.fwd_n"]
    p._fwd_terms, p._fwd_tfs = d["p.fwd_terms"], d["p.fwd_tfs"]
    p.n_docs, p._total_len = int(info["n_docs"]), int(info["total_len"])
    if not 0 <= p.n_docs <= n_slots or p._total_len < 0:
        raise ValueError("document counts")

    a = AnswerLog()
    a.names = names
    a.ids = {name: m for m, name in enumerate(names) if name}
    act = a.activity
    act._sums = [d[f"a.sums{i}"] for i in range(3)]
    act._ref, act.answers, act.accepted, act.first, act.last = (
        d["a.ref"], d["a.answers"], d["a.accepted"], d["a.first"], d["a.last"])
    a.m_answers, a.m_last = act.answers, act.last  # the log reads these through aliases
    a.t_asker, a.t_at, a._t_head = d["a.t_asker"], d["a.t_at"], d["a.t_head"]
    a.r_thread, a.r_author, a.r_at = d["a.r_thread"], d["a.r_author"], d["a.r_at"]
    a.r_acc, a.r_acc_n, a.r_up, a._r_prev = d["a.r_acc"], d["a.r_acc_n"], d["a.r_up"], d["a.r_prev"]

    index = ExpertiseIndex()
    index._postings, index._answers = p, a
    index._ids = _table(d["x.ids_keys"], d["x.ids_values"])
    index._counted = _table(d["x.counted_keys"], d["x.counted_values"])
    _within(index._ids.arrays()[1], 0, 2 * max(n_threads, n_replies) + 2, "ids")
    index._thread_ids = thread_ids
    index._root_known = bytearray(d["x.root_known"])
    index._latest = float(info["latest"])
    index.weights = weights
    return index
