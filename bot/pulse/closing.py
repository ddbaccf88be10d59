"""Closing a survey, the one way: on time (the scheduled `survey.close`) or early (`close survey 3`).

The results go where the survey was asked (with the change since the previous run), the free-text
comments to the coordinators, then `storage.surveys.seal` counts who took part and unlinks the answers.
The caller holds the survey row locked, so a tap still in flight lands before (and is counted) or
finds the survey closed.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import Context
from bot.i18n import markup_translator
from bot.markup import Markup
from bot.pulse.results import SurveyResult, describe, survey_result
from bot.replies import DirectMessage, Post
from storage import surveys
from storage.members import find_member
from storage.models import Survey

DEFAULT_K = 5


def threshold(ctx: Context) -> int:
    """The community's anonymity threshold k now (`survey_min_answers`)."""
    return ctx.community_config.survey_min_answers if ctx.community_config else DEFAULT_K


async def close_and_report(ctx: Context, survey: Survey, now: datetime) -> SurveyResult:
    """Post the results in the community's language, send the comments, seal the survey; returns the result."""
    assert ctx.community is not None
    community, cc, session = ctx.community, ctx.community_config, ctx.session
    k = threshold(ctx)
    result = await survey_result(session, survey, k)
    previous = await surveys.previous_run(session, survey)
    before = await survey_result(session, previous, k) if previous else None
    ctx.send_on(survey.platform, Post(channel=survey.channel, text=describe(result, before, community.locale)))
    texts = [t for q in result.questions if q.shown for t in q.texts]
    if texts and cc is not None:
        for ref in cc.coordinators:
            if ref.startswith(survey.platform + ":"):
                _ = markup_translator(await _locale_of(ctx, ref))  # a DM: the reader's language
                note = Markup("\n").join([_("Comments from the pulse survey “{title}” (anonymous):",
                                             title=survey.title), *(Markup("- {text}").format(text=t) for t in texts)])
                ctx.send_on(survey.platform, DirectMessage(user=ref.partition(":")[2], text=note))
    await surveys.seal(session, survey, now)
    return result


async def _locale_of(ctx: Context, ref: str) -> str:
    """The language of the coordinator `platform:user id`: their choice, else the community's."""
    assert ctx.community is not None and ctx.community.id is not None
    platform, _sep, user = ref.partition(":")
    member = await find_member(ctx.session, ctx.community.id, platform, user)
    return (member.locale if member else None) or ctx.community.locale
