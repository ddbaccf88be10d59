"""The terminal chat, driven line by line as a person would type."""

from __future__ import annotations

import io
from collections.abc import Iterator

from adapters.console.adapter import ConsoleAdapter
from adapters.console.render import render_text
from app.cli import terminal_locale
from app.runtime import ensure_local_community
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from storage.db import Database


def _script(lines: list[str]) -> Iterator[str]:
    yield from lines
    raise EOFError


async def _chat(db: Database, config: Config, lines: list[str], user: str = "ana") -> str:
    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    script, out = _script(lines), io.StringIO()
    console = ConsoleAdapter("demo", user, read_line=lambda _prompt: next(script), out=out,
                             locale=lambda: terminal_locale(steward, console))
    steward.add_adapter(console)
    await steward.start_adapters()
    await console.run()
    await steward.stop()
    return out.getvalue()


async def test_session_in_english_then_french_then_forgotten(db: Database, config: Config) -> None:
    output = await _chat(db, config, ["help", "language fr", "aide", "forget me", "1", "my data"])
    assert "Here is what you can ask me" in output
    assert "Voici ce que vous pouvez me demander" in output
    assert "1. Oui, oubliez-moi" in output
    assert output.rstrip().endswith("I keep nothing about you, only a note that you opted out (a keyed fingerprint of "
                                    "your account, not its id), so that I never index you. Say `opt in` to remove it.")


async def test_a_second_run_remembers(db: Database, config: Config) -> None:
    await _chat(db, config, ["language fr"])
    output = await _chat(db, config, ["help", "quit", "never read"])
    assert "Bonjour" in output and "never read" not in output


async def test_choice_can_be_answered_by_label_and_other_text_is_a_new_message(db: Database, config: Config) -> None:
    output = await _chat(db, config, ["language fr", "forget me", "help", "oublie-moi", "annuler"])
    assert output.count("Vous oublier\u202f?") == 2
    assert "D'accord, je n'oublie rien." in output


def test_markup_rendering() -> None:
    assert render_text("**bold** and [docs](https://x.test)", color=False) == "bold and docs <https://x.test>"
    assert "\x1b[1m" in render_text("**bold**", color=True)


async def test_schedule_asks_step_by_step(db: Database, config: Config) -> None:
    output = await _chat(db, config, ["schedule", "1"])
    assert "Let's set up a ritual. What kind?" in output
    assert "1. A meetup" in output and "How often?" in output


async def test_time_moves_in_the_terminal(db: Database, config: Config) -> None:
    """A coordinator tries the time-driven flows in seconds: a reminder fires, a survey closes (real wiring)."""
    from app.cli import _chat as chat

    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    script, out = _script(['schedule reminder "Share your wins" every day at 09:00 UTC', "1",
                           'survey now "Was this week useful?" scale 1-5 for 2 days', "4",
                           "/advance 3d", "/advance soon"]), io.StringIO()
    await chat(steward, "demo", "ana", read_line=lambda _prompt: next(script), out=out)
    output = out.getvalue()
    assert output.count("Share your wins") >= 3  # the confirmation, then a reminder on each of the days passed
    assert "Results of the pulse survey “Was this week useful?”: 1 person answered." in output
    assert "ritual steps and" in output and "(s)" not in output and "is not a duration" in output


async def test_time_moves_in_french_too(db: Database, config: Config) -> None:
    from app.cli import _chat as chat

    steward = Steward(db, config, build_router())
    await ensure_local_community(steward, "demo")
    script, out = _script(["langue fr", 'sondage maintenant "Utile cette semaine ?" échelle 1-5 pendant 2 jours',
                           "/advance 3j", "/advance bientôt"]), io.StringIO()
    await chat(steward, "demo", "ana", read_line=lambda _prompt: next(script), out=out)
    output = out.getvalue()
    assert "📊" in output and "“Utile cette semaine ?”" in output  # closed (posted in the community's language)
    assert "Horloge avancée au" in output and "«\u00a0bientôt\u00a0» n’est pas une durée" in output
    assert "(répondez par un numéro)" in output  # the terminal's words follow its reader, the post its community
    assert "Steward: community “demo”" in output  # before she chose French



async def test_a_coordinator_manages_surveys_and_settings_in_the_terminal(db: Database, config: Config) -> None:
    """Issue 16: `surveys`, `close survey`, `survey results`, `settings` and `set` in the terminal chat."""
    output = await _chat(db, config, ['survey now "Was this week useful?" scale 1-5 for 2 days', "4", "surveys",
                                      "survey results 1", "close survey 1", "survey results 1", "export survey 1",
                                      "settings", "set time zone Europe/Paris", "settings history"])
    assert "**" not in output  # the terminal renders the markup
    assert "- 1 “Was this week useful?”: closes " in output
    assert "Survey 1 is still open, until " in output
    assert "📊 Results of the pulse survey “Was this week useful?”: 1 person answered." in output
    assert "Closed survey 1 “Was this week useful?”: its results are posted where it was asked." in output
    assert "Fewer than 5 answers: results stay hidden" in output and "Survey 1, closed " in output
    assert '"survey","title","closed","respondents"' in output
    assert "- Time zone: UTC (initial value)" in output and "✅ Time zone: UTC → Europe/Paris." in output
    assert "Time zone UTC → Europe/Paris, by Ana" in output


async def test_the_same_in_french(db: Database, config: Config) -> None:
    output = await _chat(db, config, ["langue fr", 'sondage maintenant "Utile ?" échelle 1-5', "sondages",
                                      "clore sondage 1", "résultats du sondage 1", "exporter sondage 1", "réglages",
                                      "régler seuil 7",
                                      "qui est le noyau", "statistiques"])
    assert "📋 Sondages de la communauté demo\u00a0:" in output
    assert "- 1 «\u00a0Utile ?\u00a0»\u00a0: clôture le " in output
    assert "Sondage 1 «\u00a0Utile ?\u00a0» clos\u00a0: ses résultats sont publiés" in output
    assert "Sondage 1, clos le " in output
    assert "- Seuil des sondages (nombre minimal de réponses montrées)\u00a0: 5 (valeur initiale)" in output
    assert "✅ Seuil des sondages (nombre minimal de réponses montrées)\u00a0: 5 → 7." in output
    assert "Noyau de la communauté demo en " in output and "en chiffres" in output
    assert "Le sondage 1 en CSV\u00a0: des agrégats seulement" in output
    assert '"Utile ?","scale","","","","","masqué\u00a0: moins de 5 réponses"' in output  # the note, in French
    assert "Survey" not in output and "Settings" not in output
