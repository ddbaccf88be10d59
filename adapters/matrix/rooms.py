"""Direct-message rooms: found in the bot's `m.direct` account data, created once, reused after.

Rooms Steward creates for DMs are not encrypted: the invited member has not joined yet, and keys
shared before they join would not reach their devices. A member may turn encryption on in the
room; Steward then encrypts there like in any encrypted room.
"""

from __future__ import annotations

import logging

from nio import Api, AsyncClient, MatrixRoom, RoomCreateResponse, RoomPreset

from adapters.matrix.client import call, raw_json

log = logging.getLogger(__name__)


class DirectRooms:
    """Who Steward talks to privately, and where (user id → room id)."""

    def __init__(self, client: AsyncClient, configured_channels: frozenset[str] = frozenset()) -> None:
        self.client = client
        self.configured = configured_channels
        self._by_user: dict[str, str] = {}
        self._rooms: set[str] = set()
        self._account_data: dict[str, list[str]] = {}

    def _path(self) -> str:
        return str(Api._build_path(["user", self.client.user_id, "account_data", "m.direct"]))

    async def load(self) -> None:
        """Read `m.direct` from the homeserver (at start: an incremental sync would not repeat it)."""
        data = await raw_json(self.client, "GET", self._path(), None)
        self._account_data = {u: [r for r in rooms if isinstance(r, str)] for u, rooms in data.items()
                              if isinstance(rooms, list)}
        for user, rooms in self._account_data.items():
            if rooms:
                self._by_user[user] = rooms[-1]
                self._rooms.update(rooms)

    def room_for(self, user: str) -> str | None:
        """The DM room with `user`, if one is known."""
        return self._by_user.get(user)

    def is_direct(self, room: MatrixRoom | None, room_id: str) -> bool:
        """A room in `m.direct`, or a two-person room that is not a community channel."""
        if room_id in self._rooms:
            return True
        if room is None or room_id in self.configured:
            return False
        return 0 < room.member_count <= 2 and not room.name

    def note(self, user: str, room_id: str) -> None:
        """Remember a room seen to be a DM with `user` (for this run)."""
        self._by_user.setdefault(user, room_id)
        self._rooms.add(room_id)

    async def record(self, user: str, room_id: str) -> None:
        """Remember a DM with `user` durably, in the bot's `m.direct` account data."""
        self._by_user[user] = room_id
        self._rooms.add(room_id)
        rooms = self._account_data.setdefault(user, [])
        if room_id not in rooms:
            rooms.append(room_id)
            await raw_json(self.client, "PUT", self._path(), self._account_data)

    async def ensure(self, user: str) -> str:
        """The DM room with `user`, created (and recorded in `m.direct`) the first time."""
        known = self.room_for(user)
        if known is not None:
            return known
        resp = await call(self.client.room_create(is_direct=True, invite=[user], preset=RoomPreset.private_chat),
                          "room_create")
        assert isinstance(resp, RoomCreateResponse)
        room_id = str(resp.room_id)
        # nio learns rooms from sync; sending before the next sync needs the room known locally.
        self.client.rooms.setdefault(room_id, MatrixRoom(room_id, self.client.user_id))
        log.info("created a direct-message room %s with %s", room_id, user)
        await self.record(user, room_id)
        return room_id
