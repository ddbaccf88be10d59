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


async def test_the_same_in_french_with_a_reminder_and_the_month(db: Database, config: Config) -> None:
    from app.cli import _chat as chat

    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    script, out = _script(["langue fr",
                           "consulter demo : faut-il standardiser sur Helm ? jusqu'à demain, en choix : oui / non",
                           "1", "/advance 2j", "/advance 8j", "consultations",
                           "décision sur la consultation 1 : Helm pour les nouveaux services", "consultations",
                           f"bilan {datetime.now(UTC):%Y-%m}", "portefeuille", "bilans passés"]), io.StringIO()
    await chat(steward, "demo", "ana", read_line=lambda _prompt: next(script), out=out)
    output = out.getvalue()
    assert "Votre consultation auprès de la communauté demo est close" in output and "1 voix." in output
    assert "⏳ Il y a une semaine, je vous ai envoyé les voix de la consultation 1" in output
    assert "En attente de la réponse du sponsor." in output
    assert "Décision\u00a0: «\u00a0Helm pour les nouveaux services\u00a0»" in output
    assert "demo\u00a0: bilan d" in output and "Étape\u00a0: potentiel" in output
    assert "Portefeuille\u00a0: " in output and "- demo\u00a0: potentiel" in output
    for english in ("digest", "Decided", "Waiting", "Portfolio", "I didn't get that", "Sorry"):
        assert english not in output, english
