"""On a real Synapse: a sponsor consults the room, a member answers in the thread, the voices reach the sponsor
by DM at the deadline, and the sponsor's answer is posted in the room where the question was asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.scheduling import run_due
from storage.models import Consultation
from tests.matrix.test_manage import _dm


async def test_the_sponsor_answer_comes_back_to_the_room(people: Any, bot_factory: Any) -> None:
    ana, bruno = await people("ana"), await people("bruno")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id, bruno.user_id))
    await bruno.join(room)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,), sponsors=(ana.user_id,))
    await ana.wait_member(room, bot.user_id)

    await ana.say(room, "!steward consult k8s: should we standardise on Helm charts? until friday")
    asked = await bruno.wait_for(lambda e: e.get("sender") == bot.user_id and e["room_id"] == room
                                 and "A sponsor asks" in e["content"].get("body", ""), "the consultation")
    await bruno.say(room, "Yes: reviews get easier.", **{"m.relates_to": {
        "rel_type": "m.thread", "event_id": asked["event_id"], "is_falling_back": True,
        "m.in_reply_to": {"event_id": asked["event_id"]}}})
    async with bot.db.session() as session:
        consultation = (await session.exec(select(Consultation))).one()
    await bruno.wait_for(lambda e: e.get("type") == "m.reaction" and e["content"]["m.relates_to"]["event_id"]
                         != asked["event_id"], "Steward's ☑ on the voice")

    await run_due(bot.steward, consultation.deadline + timedelta(minutes=1))
    await bruno.wait_for(lambda e: e.get("sender") == bot.user_id and "delivered to the sponsor"
                         in e["content"].get("body", ""), "the thank-you in the thread")

    await ana.say(room, f"!steward decision on consultation {consultation.id}: Helm for new services; "
                        "kustomize stays where it works")
    answer = await bruno.wait_for(lambda e: e.get("sender") == bot.user_id and e["room_id"] == room
                                  and "answer to consultation" in e["content"].get("body", ""), "the answer")
    body, html = answer["content"]["body"], answer["content"]["formatted_body"]
    assert "Helm for new services; kustomize stays where it works" in body and "1 voice." in body
    assert "m.relates_to" not in answer["content"]  # in the room itself, not hidden in a thread
    assert f'href="https://matrix.to/#/{room.replace("!", "%21").replace(":", "%3A")}/' in html
    async with bot.db.session() as session:
        assert (await session.exec(select(Consultation))).one().decision is not None


async def test_a_french_sponsor_is_reminded_answers_and_reads_the_month_on_a_real_homeserver(
        people: Any, bot_factory: Any) -> None:
    """Ana sponsors the room's community and reads French; Bruno coordinates it and reads English. She consults,
    forgets to answer, is reminded once a week after the summary (Bruno learns it waits), answers, and reads the
    consultations, the month's digest with its chart, the portfolio, the core group and the stats."""
    ana, bruno = await people("ana"), await people("bruno")
    account = bot_factory.register()
    room = await ana.create_room(invite=(account.user_id, bruno.user_id))
    await bruno.join(room)
    bot = await bot_factory(channels=(room,), inviters=(ana.user_id,), sponsors=(ana.user_id,),
                            coordinators=(bruno.user_id,))
    await ana.wait_member(room, bot.user_id)

    def from_bot(*rooms: str, having: str = "") -> Any:
        return lambda e: (e.get("sender") == bot.user_id and e["room_id"] in rooms
                          and having in str(e.get("content", {}).get("body", "")))

    await ana.say(room, "!steward langue fr")
    await ana.wait_for(from_bot(room, having="français"), "the language, in French")
    await ana.say(room, "!steward consulter k8s : faut-il standardiser sur Helm ? jusqu'à vendredi")
    asked = await bruno.wait_for(from_bot(room, having="A sponsor asks"), "the consultation, in English")
    await bruno.say(room, "Yes: reviews get easier.", **{"m.relates_to": {
        "rel_type": "m.thread", "event_id": asked["event_id"], "is_falling_back": True,
        "m.in_reply_to": {"event_id": asked["event_id"]}}})
    await bruno.wait_for(lambda e: e.get("type") == "m.reaction" and e.get("sender") == bot.user_id,
                         "Steward's ☑ on the voice")
    async with bot.db.session() as session:
        consultation = (await session.exec(select(Consultation))).one()

    closed = consultation.deadline + timedelta(minutes=1)
    await run_due(bot.steward, closed)
    dm = await _dm(ana, bot.user_id)
    summary = await ana.wait_for(from_bot(dm, having="Votre consultation auprès de la communauté"), "the summary")
    assert "1 voix." in summary["content"]["body"]
    await run_due(bot.steward, closed + timedelta(days=7, minutes=1))
    await ana.wait_for(from_bot(dm, having="⏳ Il y a une semaine, je vous ai envoyé les voix de la consultation 1"),
                       "the reminder, in French")
    bruno_dm = await _dm(bruno, bot.user_id)
    told = await bruno.wait_for(from_bot(bruno_dm, having="⏳ Consultation 1"), "the coordinators told, in English")
    assert "still waits for the sponsor's answer, 7 days after the summary" in told["content"]["body"]

    async def said(text: str, having: str) -> str:
        await ana.say(room, f"!steward {text}")
        return str((await ana.wait_for(from_bot(room, dm, having=having), text))["content"]["body"])

    assert "En attente de la réponse du sponsor." in await said("consultations", "Consultations dans")
    await said("décision sur la consultation 1 : Helm pour les nouveaux services", "boucler la boucle")
    answer = await bruno.wait_for(from_bot(room, having="The sponsor's answer to consultation 1"), "the answer")
    assert "Helm pour les nouveaux services" in answer["content"]["body"] and "1 voice." in answer["content"]["body"]
    assert "Décision\u00a0: «\u00a0Helm pour les nouveaux services\u00a0»" in await said("consultations",
                                                                                       "Consultations dans")

    month = datetime.now(UTC)
    digest = await said(f"bilan {month:%Y-%m}", "Kubernetes CoP\u00a0: bilan d")
    assert "Étape" in digest and "digest" not in digest
    chart = await ana.wait_for(lambda e: e.get("sender") == bot.user_id and e["room_id"] == dm
                               and e.get("content", {}).get("msgtype") == "m.image", "the digest's chart")
    assert chart["content"]["url"].startswith("mxc://")
    assert "Kubernetes CoP" in await said("portefeuille", "Portefeuille\u00a0:")
    core = await said("qui est le noyau", "Noyau de la communauté Kubernetes CoP en ")
    assert bruno.user_id not in core  # a count for a sponsor, never names
    assert "Membres actifs" in await said("statistiques", "en chiffres")
