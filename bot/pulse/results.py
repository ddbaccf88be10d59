"""Survey results in aggregate only, and only from `k` respondents on (k = `survey_min_answers`).

A result below k carries no counts, no mean and no text at all, so nothing downstream (posts, trends,
digests) can show a group smaller than k: comparisons need both runs at or above k.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import decimal, markup_plural_translator, markup_translator, percent, signed_decimal
from bot.markup import Markup
from bot.pulse.questions import Question, load
from storage.models import Survey
from storage.surveys import free_texts, respondents, value_counts


@dataclass(frozen=True)
class QuestionResult:
    """One question's aggregate; `shown` is False below k, and then every figure is empty."""

    question: Question
    answers: int
    shown: bool
    counts: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurveyResult:
    """A survey's aggregate: how many people answered, and each question's result."""

    survey: Survey
    respondents: int
    k: int
    questions: tuple[QuestionResult, ...]


async def survey_result(session: AsyncSession, survey: Survey, k: int) -> SurveyResult:
    """The aggregate of a survey, hiding every question with fewer than `k` answers (or the survey's own
    threshold when it opened with a higher one: a threshold lowered later never uncovers a smaller group)."""
    assert survey.id is not None
    k = max(k, survey.min_answers)
    results = []
    for index, question in enumerate(load(survey.questions)):
        if question.kind == "text":
            texts = await free_texts(session, survey.id, index)
            shown = len(texts) >= k
            results.append(QuestionResult(question, len(texts), shown, texts=tuple(texts) if shown else ()))
            continue
        counts = await value_counts(session, survey.id, index)
        n = sum(counts.get(i, 0) for i, _ in question.options)
        if n < k:
            results.append(QuestionResult(question, n, False))
            continue
        mean = sum(float(i) * counts.get(i, 0) for i, _ in question.options) / n if question.numeric else None
        results.append(QuestionResult(question, n, True, {i: counts.get(i, 0) for i, _ in question.options}, mean))
    return SurveyResult(survey, await respondents(session, survey.id), k, tuple(results))


def pulse_score(result: SurveyResult) -> float | None:
    """The mean of the survey's first scale or emoji question, when it is shown."""
    for q in result.questions:
        if q.question.numeric and q.shown:
            return q.mean
    return None


def describe(result: SurveyResult, previous: SurveyResult | None, locale: str) -> Markup:
    """The results post, in `locale`: each question's distribution and the change since the previous run."""
    _, n_ = markup_translator(locale), markup_plural_translator(locale)
    survey = result.survey
    lines = [n_("📊 Results of the pulse survey “{title}”: {n} person answered.",
                "📊 Results of the pulse survey “{title}”: {n} people answered.", result.respondents,
                title=survey.title)]
    before = {q.question.text: q for q in previous.questions} if previous else {}
    for q in result.questions:
        lines.append(Markup("**{text}**").format(text=q.question.text))
        if q.question.kind == "text":
            lines.append(n_("- {n} comment, passed to the coordinators.", "- {n} comments, passed to the coordinators.",
                            q.answers) if q.shown else
                         _("- Fewer than {k} comments: kept private.", k=result.k))
            continue
        if not q.shown:
            lines.append(_("- Fewer than {k} answers: results stay hidden to protect anonymity.", k=result.k))
            continue
        lines += [_("- {label}: {n} ({pct})", label=label, n=q.counts[i], pct=percent(q.counts[i], q.answers, locale))
                  for i, label in q.question.options]
        if q.mean is not None:
            lines.append(_("- Average: {mean}", mean=decimal(q.mean, locale)))
        old = before.get(q.question.text)
        if old is not None and old.shown and old.mean is not None and q.mean is not None:
            lines.append(_("- Change since last time: {delta}", delta=signed_decimal(q.mean - old.mean, locale)))
        elif old is not None and old.shown and q.question.kind == "choice":
            shifts = [_("{label} {change} pt", label=label, change=signed_decimal(
                100 * (q.counts[i] / q.answers - old.counts.get(i, 0) / old.answers), locale, "0"))
                for i, label in q.question.options]
            lines.append(_("- Change since last time: {delta}", delta=Markup(", ").join(shifts)))
    return Markup("\n").join(lines)

