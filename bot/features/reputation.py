"""Reputation in chat: `my contributions`, `reputation @ana`, `why is @ana suggested for helm?`,
`leaderboard` (opt-in per community) and `my record` (a summary to share, e.g. in a performance review).

Everything shown comes from the ledger with its evidence links; the listed points always add up to the
score shown (bot/reputation/scores.py). Opted-out members are never ranked nor explained to others.
"""

from __future__ import annotations

import re
from datetime import date

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.i18n import N_, decimal, plural_count
from bot.markup import Markup
from bot.mentioned import Unknown, member_named
from bot.reputation.mentions import first_mention
from bot.reputation.scores import EvidenceLine, Explanation, explain, reputation, top_topics
from bot.reputation.weights import ENTRY_LABELS, LEVELS, kind_count, level
from bot.router import Router
from storage.ledger import count_of
from storage.members import list_members
from storage.models import Member

router = Router()

MY_CONTRIBUTIONS = CommandSpec(key="my-contributions", summary=N_("see your contributions and how they count"),
                               forms={"en": ("my contributions",), "fr": ("mes contributions",)})
REPUTATION = CommandSpec(
    key="reputation", summary=N_("see a member's contributions, with the evidence"),
    forms={"en": ("reputation of {who}", "reputation {who}"), "fr": ("réputation de {who}", "réputation {who}")},
    argument=Argument("who", N_("a member"), N_("@ana")))
WHY_SUGGESTED = CommandSpec(
    key="why-suggested", summary=N_("why a member counts as knowing a topic, with the evidence"),
    forms={"en": ("why is {query}", "why was {query}"), "fr": ("pourquoi suggérer {query}",)},
    argument=Argument("query", N_("a member and a topic"), N_("@ana suggested for helm")))
LEADERBOARD = CommandSpec(key="leaderboard", summary=N_("see the community's contributors (when enabled)"),
                          forms={"en": ("leaderboard", "top contributors"), "fr": ("classement",)})
MY_RECORD = CommandSpec(key="my-record", summary=N_("a summary of your contributions you can share"),
                        forms={"en": ("my record",), "fr": ("mon bilan",)})
_FOR = re.compile(r"^\s*(?:suggested\s+)?(?:suggérée?\s+)?(?:for|about|on|pour|sur)?\s*", re.IGNORECASE)


def _name(member: Member) -> str:
    return member.display_name or member.platform_user_id


async def _mentioned(ctx: Context, text: str) -> tuple[Member, str]:
    """The member mentioned first in `text` and what follows the mention."""
    found = first_mention(text)
    if found is None or ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Mention the member, e.g. `{usage}`."),
                         usage_key=ctx.command.spec.key if ctx.command else None)
    uid, end = found
    member = await member_named(ctx, uid, keep=False)
    if isinstance(member, Unknown):
        msgid, params = member.message()
        raise InputError(msgid, **params)
    rest = text[end:]
    return member, rest


def _line(ctx: Context, line: EvidenceLine) -> Markup:
    label = ctx._(ENTRY_LABELS.get(line.kind, line.kind))
    note = ctx._(" “{note}”", note=line.note[:80]) if line.note else Markup()
    link = Markup(" ([{label}]({url}))").format(label=ctx._("link"), url=line.url) if line.url else Markup()
    return Markup("- {points} · {label} · {day}{note}{link}").format(
        points=decimal(line.points, ctx.locale), label=label, day=line.at.date().isoformat(), note=note, link=link)


def evidence_lines(ctx: Context, explanation: Explanation) -> list[Markup]:
    """The best entries, then the rest summed: what is listed adds up to the score."""
    lines = [_line(ctx, ln) for ln in explanation.lines]
    n, points = explanation.rest
    if n:
        lines.append(ctx.n_("- {points} · {n} more entry", "- {points} · {n} more entries", n,
                            points=decimal(points, ctx.locale)))
    return lines


def _summary(ctx: Context, explanation: Explanation) -> Markup:
    return Markup(", ").join(kind_count(ctx.n_, k, n) for k, (n, _pts) in explanation.by_kind.items())


def _score_line(ctx: Context, who: str, explanation: Explanation, topic: str | None = None) -> Markup:
    named = explanation.level
    lvl = Markup(" ({level})").format(level=ctx._(named)) if named else Markup()
    score, n = decimal(explanation.score, ctx.locale), plural_count(explanation.score, ctx.locale)
    if topic:
        return ctx.n_("**{who}** on “{topic}”: {score} point{level}.", "**{who}** on “{topic}”: {score} points{level}.",
                      n, who=who, topic=topic, score=score, level=lvl)
    return ctx.n_("**{who}**: {score} point{level}.", "**{who}**: {score} points{level}.", n, who=who, score=score,
                  level=lvl)


@router.command(MY_CONTRIBUTIONS)
async def my_contributions(ctx: Context) -> None:
    """The member's own ledger: score, counts per kind, best evidence; and, for them alone, the surveys
    they answered (worth no points, so no one else can tell)."""
    member = ctx.member
    explanation = await explain(ctx.session, member.id) if member and member.id else None
    surveys = await count_of(ctx.session, member.id, "surveyed") if member and member.id else 0
    private = ctx._("Pulse surveys you answered: {n} (only you see this; it earns no points).", n=surveys)
    if explanation is None or not explanation.lines:
        ctx.reply_privately(private if surveys else ctx._(
            "No contributions recorded yet. Answering questions, sharing resources and "
            "welcoming newcomers all count; so do thanks from colleagues."))
        return
    assert member is not None
    lines = [_score_line(ctx, ctx._("You"), explanation), _summary(ctx, explanation), *evidence_lines(ctx, explanation),
             *([private] if surveys else []),
             ctx._("Entries fade with time (half of their worth after 6 months). Say `my record` for a summary "
                   "you can share.")]
    ctx.reply_privately(Markup("\n").join(lines))


@router.command(REPUTATION)
async def reputation_of(ctx: Context) -> None:
    """Someone's score with its evidence (never for members who opted out)."""
    assert ctx.command is not None
    member, _rest = await _mentioned(ctx, ctx.command.argument)
    if member.opted_out and member.platform_user_id != ctx.event.sender.id:
        ctx.reply_privately(ctx._("{name} opted out: I don't rank or describe them.", name=_name(member)))
        return
    explanation = await explain(ctx.session, member.id or 0)
    if not explanation.lines:
        ctx.reply_privately(ctx._("I have no contributions recorded for {who} here.", who=_name(member)))
        return
    ctx.reply_privately(Markup("\n").join([_score_line(ctx, _name(member), explanation), _summary(ctx, explanation),
                                           *evidence_lines(ctx, explanation)]))


@router.command(WHY_SUGGESTED)
async def why_suggested(ctx: Context) -> None:
    """`why is @ana suggested for helm?`: her entries on that topic, each with its worth and link."""
    assert ctx.command is not None
    member, rest = await _mentioned(ctx, ctx.command.argument)
    topic = _FOR.sub("", rest, count=1).strip(" ?")
    if not topic:
        raise InputError(N_("Tell me the topic too, e.g. `{usage}`."), usage_key="why-suggested")
    if member.opted_out:
        ctx.reply_privately(ctx._("{name} opted out: I don't rank or describe them.", name=_name(member)))
        return
    explanation = await explain(ctx.session, member.id or 0, topic=topic)
    if not explanation.lines:
        ctx.reply_privately(ctx._("I have no contributions of {who} on “{topic}”. Routing may still suggest them "
                                  "from what they wrote or declared; `who knows about {topic}` explains.",
                                  who=_name(member), topic=topic))
        return
    ctx.reply_privately(Markup("\n").join([_score_line(ctx, _name(member), explanation, topic),
                                           _summary(ctx, explanation), *evidence_lines(ctx, explanation)]))


@router.command(LEADERBOARD)
async def leaderboard(ctx: Context) -> None:
    """Levels or ranks, when the community turned them on (`leaderboard` in its config; default off)."""
    mode = ctx.community_config.leaderboard if ctx.community_config else "off"
    if mode == "off" or ctx.community is None or ctx.community.id is None:
        ctx.reply_privately(ctx._("This community has no leaderboard (a coordinator can turn one on: `set leaderboard "
                                  "levels`). Say `my contributions` to see yours."))
        return
    scores = await reputation(ctx.session, ctx.community.id)
    members = {m.id: m for m in await list_members(ctx.session, ctx.community.id) if m.id in scores}
    ranked = sorted(members.values(), key=lambda m: (-scores[m.id or 0], _name(m)))
    if not ranked:
        ctx.reply_privately(ctx._("No contributions recorded yet."))
        return
    if mode == "ranks":
        lines = [ctx._("Top contributors (recent contributions count most):")]
        for i, m in enumerate(ranked[:10], 1):
            named = level(scores[m.id or 0])
            lines.append(ctx._("{i}. {name}: {score}{level}",
                i=i, name=_name(m), score=decimal(scores[m.id or 0], ctx.locale),
                level=Markup(" ({level})").format(level=ctx._(named)) if named else Markup()))
    else:
        lines = [ctx._("Our contributors, by level:")]
        by_level: dict[str, list[str]] = {}
        for m in ranked:
            named = level(scores[m.id or 0])
            if named:
                by_level.setdefault(named, []).append(_name(m))
        for _threshold, named in reversed(LEVELS):
            names = sorted(by_level.get(named, []))
            if names:
                more = ctx._(" and {n} more", n=len(names) - 20) if len(names) > 20 else Markup()
                lines.append(ctx._("**{level}**: {names}{more}",
                    level=ctx._(named), names=", ".join(names[:20]), more=more))
    ctx.reply_privately(Markup("\n").join(lines))


@router.command(MY_RECORD)
async def my_record(ctx: Context) -> None:
    """A shareable summary of the member's own contributions: counts, top topics, best evidence."""
    member = ctx.member
    explanation = await explain(ctx.session, member.id) if member and member.id else None
    if member is None or explanation is None or not explanation.lines:
        ctx.reply_privately(ctx._("No contributions recorded yet."))
        return
    community = ctx.community.name if ctx.community else ""
    first = date.fromordinal(date(1970, 1, 1).toordinal() + (explanation.first_day or 0)).isoformat()
    lines = [ctx._("Contributions of **{who}** to **{community}** since {date}:", who=_name(member),
                   community=community, date=first),
             Markup("- ") + _summary(ctx, explanation)]
    topics = await top_topics(ctx.session, member.id or 0)
    if topics:
        lines.append(ctx._("- main topics: {topics}", topics=", ".join(t for t, _n in topics)))
    named = explanation.level
    if named:
        lines.append(ctx._("- level: {level}", level=ctx._(named)))
    best = [ln for ln in explanation.lines if ln.url][:3]
    if best:
        lines.append(ctx._("Highlights:"))
        lines += [_line(ctx, ln) for ln in best]
    ctx.reply_privately(Markup("\n").join(lines))
