"""Direct-message rooms: found in the bot's `m.direct` account data, created once, reused after.

A DM is a room of two. Whether a room is one is decided again at every event and every send, from its
current membership (joined and invited): a DM someone else was invited to is a group from then on, so
what is meant for one person (`my data`) never lands there; Steward opens a new DM instead.

Rooms Steward creates for DMs are not encrypted: the invited member has not joined yet, and keys
shared before they join would not reach their devices. A member may turn encryption on in the
room; Steward then encrypts there like in any encrypted room.
"""

from __future__ import annotations

import logging

from nio import Api, AsyncClient, MatrixRoom, RoomCreateResponse, RoomPreset

from adapters.matrix.client import call, raw_json

log = logging.getLogger(__name__)

PRIVATE_MEMBERS = 2  # Steward and the one person: more (joined or invited) and the room is no DM
# Someone invited to a DM later reads it from their invitation on, not what was said before (the DM's
# person was invited when it was created, so they see everything).
HISTORY_FROM_INVITE = {"type": "m.room.history_visibility", "state_key": "",
                       "content": {"history_visibility": "invited"}}


class DirectRooms:
    """Who Steward talks to privately, and where (user id → room id)."""

    def __init__(self, client: AsyncClient, configured_channels: frozenset[str] = frozenset()) -> None:
        self.client = client
        self.configured = configured_channels
        self._by_user: dict[str, str] = {}
        self._rooms: set[str] = set()
        self._account_data: dict[str, list[str]] = {}
        self._partners: dict[str, str] = {}  # room id → the person it was a DM with (kept after it grew)

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
                self._partners.update(dict.fromkeys(rooms, user))

    def room_for(self, user: str) -> str | None:
        """The DM room with `user`, if one is known and still holds only the two of them."""
        room_id = self._by_user.get(user)
        if room_id is not None and self.grown(room_id):
            return None
        return room_id

    def grown(self, room_id: str) -> bool:
        """True when a room once taken for a DM now holds more than two people; it is forgotten as a DM
        (here and, at the next `record`, in `m.direct`)."""
        room = self.client.rooms.get(room_id)
        if room is None or room.member_count <= PRIVATE_MEMBERS:
            return False
        if room_id in self._rooms:
            log.info("%s is no longer a direct message: %d members", room_id, room.member_count)
            self._rooms.discard(room_id)
            self._by_user = {u: r for u, r in self._by_user.items() if r != room_id}
            self._account_data = {u: [r for r in rooms if r != room_id] for u, rooms in self._account_data.items()}
        return True

    def partner(self, room_id: str) -> str | None:
        """The person a room was a DM with, even after it grew (to move a private reply to a new DM)."""
        return self._partners.get(room_id)

    def is_direct(self, room: MatrixRoom | None, room_id: str) -> bool:
        """A room of two (joined or invited) that is in `m.direct`, or that is unnamed and not a community
        channel. Asked at every event, so a membership change decides again."""
        room = room if room is not None else self.client.rooms.get(room_id)
        if self.grown(room_id) or (room is not None and room.member_count > PRIVATE_MEMBERS):
            return False
        if room_id in self._rooms:
            return True
        if room is None or room_id in self.configured:
            return False
        return 0 < room.member_count <= PRIVATE_MEMBERS and not room.name

    def note(self, user: str, room_id: str) -> None:
        """Remember a room seen to be a DM with `user` (for this run)."""
        self._by_user.setdefault(user, room_id)
        self._rooms.add(room_id)
        self._partners.setdefault(room_id, user)

    async def record(self, user: str, room_id: str) -> None:
        """Remember a DM with `user` durably, in the bot's `m.direct` account data."""
        self._by_user[user] = room_id
        self._rooms.add(room_id)
        self._partners[room_id] = user
        rooms = self._account_data.setdefault(user, [])
        if room_id not in rooms:
            rooms.append(room_id)
            await raw_json(self.client, "PUT", self._path(), self._account_data)

    async def ensure(self, user: str) -> str:
        """The DM room with `user`, created (and recorded in `m.direct`) the first time."""
        known = self.room_for(user)
        if known is not None:
            return known
        resp = await call(self.client.room_create(is_direct=True, invite=[user], preset=RoomPreset.private_chat,
                                                  initial_state=[HISTORY_FROM_INVITE]), "room_create")
        assert isinstance(resp, RoomCreateResponse)
        room_id = str(resp.room_id)
        # nio learns rooms from sync; sending before the next sync needs the room known locally.
        self.client.rooms.setdefault(room_id, MatrixRoom(room_id, self.client.user_id))
        log.info("created a direct-message room %s with %s", room_id, user)
        await self.record(user, room_id)
        return room_id
