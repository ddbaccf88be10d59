"""`team …` in chat, on the terminal as a person types it, in English and French: set, show, change, remove; bad names
answered with how to fix them; the community's spelling kept; a member who opted out gets no new team."""

from __future__ import annotations

from bot.config import Config
from storage.db import Database
from storage.models import Member
from tests.test_console import _chat


async def _teams(db: Database) -> dict[str, str | None]:
    from sqlmodel import select

    async with db.session() as s:
        return {m.platform_user_id: m.team for m in (await s.exec(select(Member))).all()}


async def test_a_member_sets_shows_changes_and_removes_their_team(db: Database, config: Config) -> None:
    output = await _chat(db, config, ["team", "team   Payments ", "team", "my data", "my team is Platform",
                                      "no team", "no team", "team " + "x" * 61, "team a\u202eb", "help"])
    assert "You haven't said which team you work in. Say `team Payments`" in output
    assert "Noted: your team is “Payments”. It counts only in figures by team" in output
    assert "Say `no team` to remove it." in output
    assert "Your team: “Payments”. Change it with `team Payments`, or say `no team` to remove it." in output
    assert "demo: team “Payments” (say `no team` to remove it)" in output  # my data
    assert "Noted: your team is “Platform”." in output
    assert "Done: I no longer keep a team for you." in output and "You had no team here: nothing to remove." in output
    assert "A team's name has at most 60 characters: shorten it. For example: `team Payments`" in output
    assert "Give your team's name in plain words. For example: `team Payments`" in output
    assert "`team Payments`: say which team you work in" in output and "`no team`: stop saying" in output
    assert (await _teams(db))["ana"] is None


async def test_the_same_in_french_with_the_communitys_spelling(db: Database, config: Config) -> None:
    await _chat(db, config, ["team Équipe Paiements"], user="bruno")
    output = await _chat(db, config, ["langue fr", "mon équipe", "mon équipe « équipe paiements »", "équipe",
                                      "pas d'équipe", "aide"])
    assert "Vous n'avez pas dit dans quelle équipe vous travaillez. Dites `mon équipe Paiements`" in output
    assert "C'est noté\u00a0: votre équipe est «\u00a0Équipe Paiements\u00a0»." in output  # as the community spells it
    assert "Votre équipe\u00a0: «\u00a0Équipe Paiements\u00a0». Changez-la avec `mon équipe Paiements`" in output
    assert "C'est fait\u00a0: je ne garde plus d'équipe pour vous." in output
    assert "`mon équipe Paiements`\u00a0: dire dans quelle équipe vous travaillez" in output
    assert (await _teams(db)) == {"bruno": "Équipe Paiements", "ana": None}


async def test_a_member_who_opted_out_gets_no_new_team(db: Database, config: Config) -> None:
    output = await _chat(db, config, ["team Platform", "opt out", "team Payments", "team", "no team"])
    assert "You opted out, so you count in no figure by team and I keep no new team for you. Say `opt in` first" \
        in output
    assert "Your team: “Platform”." in output  # kept, as the rest of their history, until they say otherwise
    assert "Done: I no longer keep a team for you." in output
    assert (await _teams(db))["ana"] is None
