"""The question loop walked on the terminal chat of the demo community, in English and in French."""

from __future__ import annotations

import io
from collections.abc import Iterator

from adapters.console.adapter import ConsoleAdapter
from adapters.recording import RecordingAdapter
from app.demo import ensure_demo
from bot.config import Config
from bot.core import Steward
from bot.features import build_router
from bot.replies import DirectMessage
from storage.db import Database
from tests.events import command
from tests.routing.history import seed


def _script(lines: list[str]) -> Iterator[str]:
    yield from lines
    raise EOFError


async def _terminal(db: Database, config: Config, lines: list[str], user: str = "sam", *, clock: bool = False) -> str:
    """One terminal session in the demo community (with `/advance` and the scheduler when `clock`)."""
    await ensure_demo(db)
    steward = Steward(db, config, build_router())
    script, out = _script(lines), io.StringIO()
    if clock:
        from app.cli import _chat

        await _chat(steward, "demo", user, read_line=lambda _prompt: next(script), out=out)
        return out.getvalue()
    console = ConsoleAdapter("demo", user, read_line=lambda _prompt: next(script), out=out)
    steward.add_adapter(console)
    await steward.start_adapters()
    await console.run()
    await steward.stop()
    return out.getvalue()


async def test_the_loop_in_english(db: Database, config: Config) -> None:
    output = await _terminal(db, config, [
        # Two people answered about helm, two about terraform: three are asked, the fourth is the next candidate.
        "who knows about helm or terraform upgrades?", "1",  # post it in the channel and ask them
        "my questions", "search helm upgrade"], clock=True)
    output += await _terminal(db, config, ["unanswered"], user="bruno")  # the demo's coordinator
    output += await _terminal(db, config, [
        "/advance 25h", "solved", "my questions", "/advance 3d",
        "thanks @anna for the helm tip", "thanks @ana for the helm tip"], clock=True)
    assert "1. Post it in the channel and ask them" in output and "3. No thanks" in output
    assert "❓ Sam asks: “helm or terraform upgrades” Can you help? Answer in this thread." in output
    assert "Done: I posted your question in the community channel and asked" in output
    mine = output.split("Your questions (latest first):")
    assert "“helm or terraform upgrades”: open, asked" in mine[1]
    assert "“helm or terraform upgrades”: ✅ solved, asked" in mine[2]
    assert "Past answered threads on “helm upgrade”:" in output and "✅ · 2 answers" in output
    assert "Open questions, oldest first:" in output and "Sam: “helm or terraform upgrades”; asked:" in output
    before_solved, after_solved = output.split("Great: “helm or terraform upgrades” is marked solved")
    assert "is still waiting for an answer" in before_solved  # 24 h later, the next candidates
    assert "is still waiting" not in after_solved  # solved: nobody is chased any more
    assert "I don't know @anna in this community, so I did nothing for them. Did you mean Ana Souza (@ana)?" in output
    assert "Thanks passed on to Ana Souza" in output

    ana = await _terminal(db, config, ["why me?", "not me", "why me?"], user="ana")
    assert "Why you: answered" in ana and "helm or terraform upgrades" in ana


async def test_the_loop_in_french(db: Database, config: Config) -> None:
    output = await _terminal(db, config, [
        "langue fr", "quelqu'un connaît terraform ?", "3",  # non merci
        "qui s'y connaît en helm ou terraform ?", "2",  # leur demander en privé
        "/advance 3j", "mes questions", "résolu", "résolu 1", "mes questions", "cherche helm",
        "merci @nobody pour rien"], clock=True)
    output += await _terminal(db, config, ["langue fr", "sans réponse"], user="bruno")  # the demo's coordinator
    # Only two people answered about terraform: said as such, nobody without evidence added to make three.
    assert "Je n'ai trouvé que 2 personnes qui pourraient s'y connaître en «\u00a0terraform\u00a0»" in output
    assert "D'accord, je ne demande à personne. Bonne chance\u202f!" in output
    assert "2. Leur demander en privé" in output and "C'est fait\u00a0: j'ai demandé à" in output
    # Only the question sent out is chased, and the experts read it in their language (English here).
    assert output.count("is still waiting for an answer: “helm ou terraform”") == 1
    assert "“terraform”" not in output.split("Bonne chance\u202f!")[1]
    mine = output.split("Vos questions (les plus récentes d'abord)\u00a0:")
    assert "«\u00a0helm ou terraform\u00a0»\u00a0: ouverte, demandée à" in mine[1]
    assert "«\u00a0terraform\u00a0»\u00a0: transmise à personne" in mine[1]
    assert "Parfait\u00a0: «\u00a0helm ou terraform\u00a0» est marquée comme résolue" in output  # `résolu`
    assert "Parfait\u00a0: «\u00a0terraform\u00a0» est marquée comme résolue" in output  # `résolu 1`: by its number
    assert "«\u00a0helm ou terraform\u00a0»\u00a0: ✅ résolue" in mine[2]
    assert "Discussions passées avec une réponse sur «\u00a0helm\u00a0»\u00a0:" in output
    assert "✅ · 2 réponses" in output
    assert "Aucune question ouverte\u00a0: toutes les questions transmises ici ont une réponse." in output
    assert "Je ne connais pas @nobody dans cette communauté" in output


async def test_qui_sy_connait_en_routes_like_who_knows(bot: tuple[Steward, RecordingAdapter]) -> None:
    _steward, platform = bot
    await seed(platform)
    await platform.inject(command("qui s'y connaît en helm ?", user="UFRANK"))
    assert platform.texts()[0].startswith(
        "J'ai trouvé 1 seule personne qui pourrait s'y connaître en «\u00a0helm\u00a0»")


async def test_a_mention_the_platform_wrote_is_a_real_account(bot: tuple[Steward, RecordingAdapter]) -> None:
    """A mention Slack wrote (`<@U…>`) names a real account: it may become a member, unlike a typed `@name`."""
    _steward, platform = bot
    await platform.inject(command("thanks <@UNEWCOMER> for the warm welcome", user="UANA"))
    assert [r.user for r in platform.sent if isinstance(r, DirectMessage)] == ["UNEWCOMER"]
