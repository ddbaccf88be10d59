"""A row read by the prepared road (storage/prepared.py), made the ORM object a query would have loaded.

The object is built as SQLAlchemy's loader builds one (the class manager's `new_instance`, the column
values in its state), then attached with the documented `make_transient_to_detached` + `Session.add`:
it is persistent, in the identity map, with no pending change, so a handler that changes it is flushed
as an UPDATE like any loaded row. An object of the same identity already in the session wins, as with a
query (no populate-existing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel.ext.asyncio.session import AsyncSession

M = TypeVar("M")


class Loaded(Generic[M]):
    """How to make a `model` instance of a row of `columns` (its table's, in any order)."""

    def __init__(self, model: type[M], columns: Sequence[Column[Any]]) -> None:
        mapper: Any = inspect(model)
        self.model, self._mapper = model, mapper
        self._keys = tuple(mapper.get_property_by_column(c).key for c in columns)
        primary = {c.key for c in mapper.primary_key}
        self._primary = tuple(i for i, c in enumerate(columns) if c.key in primary)

    def attach(self, session: AsyncSession, row: Sequence[Any]) -> M | None:
        """The persistent object of `row` in `session`; None when the row is NULLs (an outer join's miss)."""
        if any(row[i] is None for i in self._primary):
            return None
        sync = session.sync_session
        key = self._mapper.identity_key_from_primary_key(tuple(row[i] for i in self._primary))
        existing = sync.identity_map.get(key)
        if existing is not None:
            found: M = existing
            return found
        obj = self._mapper.class_manager.new_instance()
        obj.__dict__.update(zip(self._keys, row, strict=True))
        make_transient_to_detached(obj)
        sync.add(obj)
        made: M = obj
        return made
