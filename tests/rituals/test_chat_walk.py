"""A coordinator manages a meetup from the terminal chat, as typed, with the clock moved by `/advance`.

The real wiring (`steward chat`): the console adapter, the scheduler, the core; each line is what a person
types. English, then French.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from app.cli import _chat as chat
from app.runtime import ensure_local_community
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from storage.db import Database


class Typist:
    """Lines typed one by one; a line may depend on what Steward said before (`{id}`: the ritual's number)."""

    def __init__(self, lines: list[str], out: io.StringIO) -> None:
        self.lines, self.out = lines, out

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            found = re.findall(r"(?:ritual|rituel) (\d+)", self.out.getvalue())
            yield line.replace("{id}", found[-1] if found else "?")
        raise EOFError


async def _walk(db: Database, config: Config, lines: list[str]) -> str:
    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    out = io.StringIO()
    typed = iter(Typist(lines, out))
    await chat(steward, "demo", "ana", read_line=lambda _prompt: next(typed), out=out)
    return out.getvalue()


async def test_a_meetup_managed_from_the_terminal(db: Database, config: Config) -> None:
    output = await _walk(db, config, [
        "schedule", "meetup", "second", "tuesday", "16:00", "Helm clinic", "Bring your Helm questions", "yes",
        "rituals",
        "rename ritual {id} Helm and GitOps clinic",
        "add to agenda: our Helm 4 story",
        "host of next meetup {id}: @ana",  # a member Steward knows: she is typing
        "edit ritual {id} every last friday at 15:00 UTC", "yes",
        "agenda",
        "who is coming",
        "move meetup {id} to friday 18:00",
        "ritual {id}",
        "/advance 40d",
        "history of ritual {id}",
    ])
    assert "What is its title?" in output and "What should the announcement say" in output
    assert "Saved: ritual" in output
    assert "every second Tuesday of the month at 16:00" in output  # the listing, in words
    assert "is now called “Helm and GitOps clinic”" in output
    assert "Noted: Ana will host Helm and GitOps clinic" in output
    assert re.search(r"Agenda of Helm and GitOps clinic on Fri [^\n]*\n *- our Helm 4 story \(Ana\)", output)
    assert "Nobody has answered yet" in output  # who is coming
    assert "Moved “Helm and GitOps clinic” from " in output
    advanced = output.split("Moved: ", 1)[1]
    assert re.search(r"📅 Helm and GitOps clinic: Fri [^\n]*18:00[^\n]*\n *Bring your Helm questions\n *Hosted by "
                     r"Ana\.\n *Agenda:\n *- our Helm 4 story \(Ana\)", advanced), advanced
    history = output.rsplit("Past meetups of", 1)[-1]
    assert "18:00" in history and "hosted by ana" in history.lower(), history
    assert "I didn't get that" not in output and "Sorry" not in output


async def test_the_same_in_french(db: Database, config: Config) -> None:
    output = await _walk(db, config, [
        "langue fr",
        "planifier", "meetup", "last", "thursday", "18:00", "Clinique Helm", "-", "1",
        "rituels",
        "modifier rituel {id} texte : Apportez vos graphiques",
        "modifier rituel {id} rappels : 2 jours, 3h",
        "ajouter à l'ordre du jour : notre histoire Helm 4",
        "ordre du jour",
        "qui vient",
        "sauter la prochaine rencontre",
        "rituel {id}",
        "/advance 70j",
        "historique du rituel {id}",
        "supprimer le rituel {id}",
        "reprendre rituel {id}",
    ])
    assert "Quel est son titre\u202f?" in output
    assert "Voici les prochaines dates de «\u00a0Clinique Helm\u00a0»" in output
    assert "le dernier jeudi de chaque mois à 18:00 (UTC), dans #terminal\u202f; prochaine date\u00a0: jeu." in output
    assert "C'est fait\u00a0: le texte de «\u00a0Clinique Helm\u00a0» est désormais\u00a0: Apportez vos graphiques" \
        in output
    assert "envoie un rappel 2 j, 3 h avant le début" in output
    assert re.search(r"Ordre du jour de la rencontre Clinique Helm le jeu[^\n]*:\n *- notre histoire Helm 4 \(Ana\)",
                     output)
    assert "Personne n'a encore répondu" in output  # qui vient
    assert "est sautée. Prochaine date\u00a0: jeu." in output and "Son ordre du jour passe à la suivante." in output
    assert "Texte\u00a0: Apportez vos graphiques" in output and "Sautée\u00a0: jeu." in output
    history = output.rsplit("Rencontres passées du rituel Clinique Helm\u00a0:", 1)[1]
    assert re.search(r"- jeu[^\n]*\xa0: inscriptions 0, présences 0\n *- jeu[^\n]*\xa0: sautée", history), history
    assert "«\u00a0Clinique Helm\u00a0» est annulé. Ses rencontres passées, notes et présences sont" in output
    assert "«\u00a0Clinique Helm\u00a0» reprend\u202f; prochain\u00a0: jeu." in output
    for english in ("every", "I didn't get that", "Sorry", "What next", "Saved", "Skipped", "Cancelled", "Resumed"):
        assert english not in output, english
