"""Slack, never lost: signed deliveries to a `steward run` killed with SIGKILL and restarted, un-acknowledged
ones delivered again as Slack does; survey closings fall due meanwhile. Every event and closing gets a reply;
duplicates (Slack's Web API has no idempotency key) are counted, and only a reply taken over from the killed
process may repeat one."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database
from tests.conftest import BACKEND
from tests.crash.scenarios import Plan, slack_stream
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.crash
CHANNELS = ("C0", "C1", "C2", "C3", "C4")


async def test_replies_never_lost_across_kills(fake_slack: FakeSlack, db: Database, database_url: str,
                                               tmp_path: Path, seed: int) -> None:
    plan = Plan.draw(seed, kills=3, questions=20, surveys=4, span=8.0, modes=("timer", "send", "ack"))
    outcome = await slack_stream(fake=fake_slack, db=db, database=BACKEND, database_url=database_url,
                                 tmp=tmp_path, plan=plan, channels=CHANNELS, within=90.0)
    print(plan.describe())
    print(outcome.summary())
    assert outcome.kills == 3
    assert outcome.lost == [], f"lost: {outcome.lost}\n{outcome.summary()}"
    # At least once: a duplicate is a reply sent, then taken over by the next start before it was crossed out.
    assert outcome.duplicates <= outcome.adopted, outcome.summary()
    assert outcome.duplicates <= outcome.kills * len(CHANNELS), outcome.summary()
