"""In the terminal chat, as the operator would try it: consult, vote, move time, answer the community, list the
consultations, and read a digest and the portfolio."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

from app.runtime import ensure_local_community
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from storage.db import Database


def _script(lines: list[str]) -> Iterator[str]:
    yield from lines
    raise EOFError


async def test_a_consultation_comes_back_to_the_terminal(db: Database, config: Config) -> None:
    from app.cli import _chat as chat

    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    script, out = _script(["consult should we move the clinic to Thursdays? until tomorrow, as a choice: yes / no",
                           "1", "/advance 2d", "1", "consultations",
                           f"digest {datetime.now(UTC):%Y-%m}", "portfolio", "past digests"]), io.StringIO()
    await chat(steward, "demo", "ana", read_line=lambda _prompt: next(script), out=out)
    output = out.getvalue()
    assert "A sponsor asks the community" in output and "Noted: yes." in output
    assert "1 voice." in output and "What did you decide?" in output and "3. Not decided yet" in output
    assert "The sponsor's answer to consultation 1" in output and "How the voices weighed: 1 voice" in output
    assert "closing the loop" in output
    assert "- 1, closed on" in output and "Decided: “yes”" in output
    assert "demo: digest for" in output and "Stage: potential" in output
    assert "Portfolio: " in output and "- demo: potential; 0 active members" in output  # the operator's: every one
    assert "no finished month of history yet" in output
