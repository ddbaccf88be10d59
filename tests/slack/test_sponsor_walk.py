"""A French-speaking sponsor on Slack, through bolt's signed request pipeline (issue 16, points 3–6): she consults
the community, forgets to answer, is reminded once (the coordinators learn it waits), answers in her words, and
reads the consultations, the month's digest, the past digests, the portfolio, the core group and the stats —
all in French, while the channel reads the community's English."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from adapters.slack.translate import choice_action_id
from bot.scheduling import run_due
from storage.models import Consultation
from tests.slack.conftest import Running, click, event_body, msg

_n = itertools.count(1)


def _ts() -> str:
    """A message id of now (Slack's `ts`), each one new."""
    return f"{int(time.time())}.{next(_n):06d}"


async def _dm(running: Running, text: str, user: str = "USPONSOR") -> str:
    """What Steward answers in `user`'s direct message to `text` typed there."""
    before = len(running.fake.called("chat.postMessage"))
    await running.slack.event(event_body(msg(text, user=user, channel=f"D{user}", channel_type="im", ts=_ts())))
    await running.settle()
    return "\n".join(str(c.args.get("text")) for c in running.fake.called("chat.postMessage")[before:]
                     if c["channel"] == f"D{user}")


async def _to(running: Running, channel: str, since: int) -> list[str]:
    await running.steward.delivery.idle()
    await running.settle()
    return [str(c.args.get("text")) for c in running.fake.called("chat.postMessage")[since:] if c["channel"] == channel]


async def test_a_french_sponsor_consults_is_reminded_answers_and_reads_the_digest(running: Running) -> None:
    assert "français" in await _dm(running, "langue fr")
    asked = await _dm(running, "consulter k8s : faut-il standardiser sur Helm ? jusqu'à vendredi, en choix : oui / non")
    assert "Je vous enverrai" in asked
    channel_post = next(c for c in running.fake.called("chat.postMessage") if c["channel"] == "C1")
    assert "A sponsor asks the community" in channel_post["text"]  # the community speaks English
    async with running.steward.db.session() as session:
        consultation = (await session.exec(select(Consultation))).one()
    for i, user in enumerate(("UANA", "UBOB", "UCAT", "UDAN", "UEVE")):
        await running.slack.interaction(click(choice_action_id(f"consult:{consultation.id}", i % 2), str(i % 2),
                                              user=user))
    await running.settle()

    since = len(running.fake.called("chat.postMessage"))
    closed = consultation.deadline + timedelta(minutes=1)
    await run_due(running.steward, closed)
    summary = "\n".join(await _to(running, "DUSPONSOR", since))
    assert "Votre consultation auprès de la communauté Kubernetes CoP est close" in summary
    assert "5 voix." in summary and "Qu'avez-vous décidé\u202f?" in summary

    since = len(running.fake.called("chat.postMessage"))
    await run_due(running.steward, closed + timedelta(days=7, minutes=1))
    reminded = await _to(running, "DUSPONSOR", since)
    assert any(t.startswith("⏳ Il y a une semaine, je vous ai envoyé les voix de la consultation 1") for t in reminded)
    told = await _to(running, "DUCOORD", since)
    assert len(told) == 1 and "Consultation 1 (“faut-il standardiser sur Helm ?”) still waits" in told[0]  # his English
    waiting = await _dm(running, "consultations")
    assert "En attente de la réponse du sponsor." in waiting

    since = len(running.fake.called("chat.postMessage"))
    assert "boucler la boucle" in await _dm(running, "décision sur la consultation 1 : Helm pour les nouveaux services")
    [answer] = await _to(running, "C1", since)
    assert "The sponsor's answer to consultation 1" in answer and "&gt; Helm pour les nouveaux services" in answer
    assert "5 voices (oui: 3, non: 2)" in answer  # the community's language, the sponsor's stances
    listed = await _dm(running, "consultations")
    assert "Décision\u00a0: «\u00a0Helm pour les nouveaux services\u00a0»" in listed

    month = datetime.now(UTC)
    digest = await _dm(running, f"bilan {month:%Y-%m}")
    assert "Kubernetes CoP\u00a0: bilan d" in digest and "Étape" in digest and "digest" not in digest
    assert running.fake.uploads  # its chart, uploaded in the DM
    assert "bilan" in await _dm(running, "bilans passés")
    portfolio = await _dm(running, "portefeuille")
    assert portfolio.startswith("*Portefeuille\u00a0:") and "Kubernetes CoP" in portfolio
    core = await _dm(running, "qui est le noyau")
    assert "Noyau de la communauté Kubernetes CoP en " in core and "<@" not in core  # a count for a sponsor
    stats = await _dm(running, "statistiques")
    assert "Membres actifs" in stats and "Active" not in stats
