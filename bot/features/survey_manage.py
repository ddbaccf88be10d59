"""Managing pulse surveys from chat: `surveys` (open, recurring, closed), `close survey 3` (early, through
the same closing as on time), `survey results 3` (any closed survey, on demand) and `export survey 3`
(aggregate-only CSV). Every figure respects the anonymity threshold k (bot/pulse/results.py): a closed
survey's results are only ever what its closing post showed, recomputed, never more; an open survey
shows nothing but its closing time, so no one can watch answers arrive.
"""

from __future__ import annotations

import re

from bot.commands import Argument, CommandSpec
from bot.context import Context
from bot.errors import InputError
from bot.features.ritual_common import schedule_of, settings_of, when
from bot.features.surveys import SURVEY_NOW
from bot.i18n import N_, translator
from bot.markup import Markup
from bot.pulse.closing import close_and_report, threshold
from bot.pulse.export import result_rows, to_csv
from bot.pulse.results import describe, survey_result
from bot.router import Router
from storage import surveys
from storage.models import Survey
from storage.rituals import list_rituals

router = Router()
_ID = re.compile(r"^\s*#?(\d{1,9})\s*$")
_NUMBER = Argument("id", N_("the survey's number"), N_("3"), max_length=20)

SURVEYS = CommandSpec(
    key="surveys", role="sponsor", summary=N_("list this community's pulse surveys: open, recurring and closed"),
    forms={"en": ("surveys", "list surveys"), "fr": ("sondages", "liste des sondages")})
CLOSE_SURVEY = CommandSpec(
    key="close-survey", role="coordinator", summary=N_("close an open survey now and post its results"),
    forms={"en": ("close survey {id}",),
           "fr": ("clore sondage {id}", "clore le sondage {id}", "fermer sondage {id}", "fermer le sondage {id}")},
    argument=_NUMBER)
SURVEY_RESULTS = CommandSpec(
    key="survey-results", role="sponsor", summary=N_("see the results of a closed survey again"),
    forms={"en": ("survey results {id}", "results of survey {id}"),
           "fr": ("résultats sondage {id}", "résultats du sondage {id}")},
    argument=_NUMBER)
EXPORT_SURVEY = CommandSpec(
    key="export-survey", role="coordinator", summary=N_("a closed survey's results as CSV (aggregates only)"),
    forms={"en": ("export survey {id}",), "fr": ("exporter sondage {id}", "exporter le sondage {id}")},
    argument=_NUMBER)


def _tz(ctx: Context) -> str:
    """The reader's time zone: theirs if known, else the community's."""
    return ((ctx.member.timezone if ctx.member else None) or ctx.event.sender.timezone
            or (ctx.community.timezone if ctx.community else "UTC"))


async def _survey(ctx: Context, usage_key: str, *, lock: bool = False) -> Survey:
    """The survey the command names, in this community (locked for a closing)."""
    assert ctx.command is not None
    m = _ID.match(ctx.command.argument)
    if m is None:
        raise InputError(N_("Give the survey's number, e.g. `{usage}`. Say `surveys` to see them."),
                         usage_key=usage_key)
    survey = await ctx.session.get(Survey, int(m.group(1)), with_for_update=lock)
    if survey is None or ctx.community is None or survey.community_id != ctx.community.id:
        raise InputError(N_("There is no survey {id} here. Say `surveys` to see them."), id=m.group(1))
    return survey


def _still_open(ctx: Context, survey: Survey) -> InputError:
    return InputError(N_("Survey {id} is still open, until {when}: its results come when it closes (a "
                         "coordinator can say `close survey {id}`)."), id=str(survey.id),
                      when=when(survey.closes_at, _tz(ctx), ctx.locale))


@router.command(SURVEYS)
async def list_surveys(ctx: Context) -> None:
    """Open surveys with their closing time, recurring pulses with their next run, the latest closed ones."""
    if ctx.community is None or ctx.community.id is None:
        raise InputError(N_("Tell me which community first: ask me in one of its channels."))
    cid, tz = ctx.community.id, _tz(ctx)
    opened = await surveys.open_surveys(ctx.session, cid)
    pulses = [r for r in await list_rituals(ctx.session, cid) if r.kind == "survey"]
    closed = await surveys.closed_surveys(ctx.session, cid)
    if not (opened or pulses or closed):
        ctx.reply_privately(ctx._("No pulse survey here yet. A coordinator can start one: `{usage}`.",
                                  usage=SURVEY_NOW.usage(ctx.locale, translator(ctx.locale))))
        return
    lines = [ctx._("📋 Pulse surveys of **{name}**:", name=ctx.community.name or ctx.community.slug)]
    if opened:
        lines.append(ctx._("**Open**"))
        lines += [ctx._("- **{id}** “{title}”: closes {when}", id=s.id, title=s.title,
                        when=when(s.closes_at, tz, ctx.locale)) for s in opened]
    if pulses:
        lines.append(ctx._("**Recurring** (rituals)"))
        for r in pulses:
            upcoming = schedule_of(r).next(ctx.event.at, 1)
            lines.append(ctx._("- ritual **{id}** “{title}”: {rule}; next run {next} ({status})", id=r.id,
                               title=r.title, rule=settings_of(r).get("text") or r.rrule,
                               next=when(upcoming[0], tz, ctx.locale) if upcoming else "-",
                               status=ctx._("paused") if r.status == "paused" else ctx._("active")))
    if closed:
        lines.append(ctx._("**Closed** (latest first)"))
        for s in closed:
            lines.append(ctx._("- **{id}** “{title}”: closed {when}; respondents: {n}", id=s.id, title=s.title,
                               when=when(s.closed_at or s.closes_at, tz, ctx.locale),
                               n=await surveys.respondents(ctx.session, s.id or 0)))
    latest = (closed or opened)[0].id if closed or opened else 1
    lines.append(ctx._("Say `survey results {id}` for a closed survey's results, `close survey {id}` to close an open "
                       "one now, `export survey {id}` for a CSV.", id=latest))
    ctx.reply_privately(Markup("\n").join(lines))


@router.command(CLOSE_SURVEY)
async def close_early(ctx: Context) -> None:
    """Close an open survey now: the same closing as on time (results posted, comments sent, answers sealed)."""
    survey = await _survey(ctx, "close-survey", lock=True)
    if survey.status != "open":
        raise InputError(N_("Survey {id} has already closed. Say `survey results {id}` to see its results."),
                         id=str(survey.id))
    result = await close_and_report(ctx, survey, ctx.event.at)
    ctx.reply_privately(ctx._("Closed survey {id} “{title}”: its results are posted where it was asked. "
                              "Respondents: {n}.", id=survey.id, title=survey.title, n=result.respondents))


@router.command(SURVEY_RESULTS)
async def show_results(ctx: Context) -> None:
    """A closed survey's results again (with the change since its previous run), within the threshold."""
    survey = await _survey(ctx, "survey-results")
    if survey.status == "open":
        raise _still_open(ctx, survey)
    k = threshold(ctx)
    result = await survey_result(ctx.session, survey, k)
    previous = await surveys.previous_run(ctx.session, survey)
    before = await survey_result(ctx.session, previous, k) if previous else None
    closed = ctx._("Survey {id}, closed {when}.", id=survey.id,
                   when=when(survey.closed_at or survey.closes_at, _tz(ctx), ctx.locale))
    ctx.reply_privately(Markup("\n").join([describe(result, before, ctx.locale), closed]))


@router.command(EXPORT_SURVEY)
async def export_survey(ctx: Context) -> None:
    """A closed survey's aggregate results as CSV text, privately (bot/pulse/export.py)."""
    survey = await _survey(ctx, "export-survey")
    if survey.status == "open":
        raise _still_open(ctx, survey)
    result = await survey_result(ctx.session, survey, threshold(ctx))
    csv_lines = to_csv(result_rows(result, ctx.locale)).splitlines()
    intro = ctx._("Survey {id} as CSV: aggregates only, nothing for a question under {k} answers, never the "
                  "comments. Copy the lines below into a .csv file (or run `steward export survey`).",
                  id=survey.id, k=result.k)
    ctx.reply_privately(Markup("\n").join([intro, *csv_lines]))
