"""Matrix, exactly once: a member asks while `steward run` is killed with SIGKILL and restarted; survey closings
fall due meanwhile. Every question gets one reply and every closing one post: resends after a crash reuse
their transaction ids, which Synapse recognises."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database
from tests.conftest import BACKEND
from tests.crash.scenarios import Plan, matrix_stream
from tests.matrix.homeserver import Synapse

pytestmark = pytest.mark.crash


async def test_replies_exactly_once_across_kills(synapse: Synapse, db: Database, database_url: str,
                                                 tmp_path: Path, seed: int) -> None:
    plan = Plan.draw(seed, kills=3, questions=20, surveys=4, span=8.0)
    outcome = await matrix_stream(synapse=synapse, db=db, database=BACKEND, database_url=database_url,
                                  tmp=tmp_path, plan=plan, within=90.0)
    print(plan.describe())
    print(outcome.summary())
    assert outcome.kills == 3
    assert outcome.lost == [], f"lost: {outcome.lost}\n{outcome.summary()}"
    assert outcome.duplicates == 0, outcome.summary()
    assert all(n == 1 for n in outcome.replies.values()) and all(n == 1 for n in outcome.posts.values())
    # Each `send` kill left a reply Synapse had accepted in the outbox: it was sent again, and deduplicated.
    assert outcome.adopted >= sum(k.startswith("send#") for k in outcome.killed), outcome.summary()
