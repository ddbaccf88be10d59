"""Survey questions as coordinators write them: `"How useful was this month?" scale 1-5; "Mood?" emoji`.

Each question is quoted and followed by its kind: `scale 1-5` (échelle), `emoji`, `choice a / b / c`
(choix) or `text` (texte: an optional short free text, answered privately). Questions are separated by
`;`; whatever follows the last one is the schedule (`every month on the 1st at 10:00 in #k8s`) and an
optional duration (`for 3 days`, `pendant 3 jours`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

from bot.commands import fold
from bot.errors import Detail, InputError
from bot.i18n import N_

MAX_QUESTIONS = 3
DEFAULT_DURATION = timedelta(days=3)
EMOJIS = ("😞", "🙁", "😐", "🙂", "😄")
_QUOTED = re.compile(r'^\s*;?\s*["“«]\s*([^"”»]{1,200}?)\s*["”»]\s*', re.DOTALL)
_KIND = re.compile(r"^(scale|échelle|echelle|emoji|emojis|choice|choix|text|texte)\b\s*", re.IGNORECASE)
_RANGE = re.compile(r"^(\d{1,2})\s*(?:-|–|to|a|à)\s*(\d{1,2})\s*")
_TAIL = re.compile(r"\s*;|\s+(?=(?:every|each|chaque|tous|toutes)\b|(?:for|pendant)\s+\d|(?:in|dans)\s+[#<])",
                   re.IGNORECASE)
_DURATION = re.compile(r"\b(?:for|pendant)\s+(\d{1,2})\s+(days?|jours?|weeks?|semaines?|hours?|heures?)\b",
                       re.IGNORECASE)
BAD_SURVEY = N_("I couldn't read those questions: {problem}. Write them like `{usage}`.")


@dataclass(frozen=True)
class Question:
    """One question: its text, its kind and its options as (id, label)."""

    text: str
    kind: str  # scale | emoji | choice | text
    options: tuple[tuple[str, str], ...] = ()

    @property
    def numeric(self) -> bool:
        """True when answers have a mean (scales and emoji scales)."""
        return self.kind in ("scale", "emoji")


@dataclass(frozen=True)
class SurveySpec:
    """Parsed questions, the rest of the text (the schedule) and how long each run stays open."""

    questions: tuple[Question, ...]
    rest: str
    duration: timedelta


def _problem(problem: str, usage_key: str, **params: object) -> InputError:
    return InputError(BAD_SURVEY, usage_key=usage_key, problem=Detail(problem, **params))


def parse_questions(text: str, usage_key: str = "survey") -> SurveySpec:
    """Read 1–3 quoted questions and their kinds; `InputError` naming the problem otherwise."""
    rest = text.strip()
    questions: list[Question] = []
    while m := _QUOTED.match(rest):
        title, rest = m.group(1), rest[m.end():]
        kind_match = _KIND.match(rest)
        if kind_match is None:
            raise _problem(N_("say what kind of answer “{title}” takes: scale 1-5, emoji, choice a / b, or text"),
                           usage_key, title=title)
        kind, rest = fold(kind_match.group(1)), rest[kind_match.end():]
        if kind in ("scale", "echelle"):
            low, high = 1, 5
            if r := _RANGE.match(rest):
                low, high, rest = int(r.group(1)), int(r.group(2)), rest[r.end():]
            if not (0 <= low < high <= 10 and high - low <= 10):
                raise _problem(N_("a scale goes from 0 or 1 up to at most 10, e.g. scale 1-5"), usage_key)
            options = tuple((str(i), str(i)) for i in range(low, high + 1))
            questions.append(Question(title, "scale", options))
        elif kind.startswith("emoji"):
            questions.append(Question(title, "emoji", tuple((str(i + 1), e) for i, e in enumerate(EMOJIS))))
        elif kind in ("choice", "choix"):
            end = _TAIL.search(rest)
            raw, rest = (rest[:end.start()], rest[end.start():]) if end else (rest, "")
            labels = [o.strip() for o in raw.split("/") if o.strip()]
            if not 2 <= len(labels) <= 8 or any(len(label) > 60 for label in labels):
                raise _problem(N_("a choice needs 2 to 8 short options separated by /"), usage_key)
            questions.append(Question(title, "choice", tuple((str(i), label) for i, label in enumerate(labels))))
        else:
            questions.append(Question(title, "text"))
        rest = rest.lstrip().removeprefix(";")
    if not questions:
        raise _problem(N_("put each question in quotes, followed by its kind"), usage_key)
    if len(questions) > MAX_QUESTIONS:
        raise _problem(N_("a pulse survey has at most {count} questions"), usage_key, count=MAX_QUESTIONS)
    if all(q.kind == "text" for q in questions):
        raise _problem(N_("add at least one question answered with one tap (scale, emoji or choice)"), usage_key)
    duration = DEFAULT_DURATION
    if d := _DURATION.search(rest):
        amount, unit = int(d.group(1)), fold(d.group(2))
        duration = timedelta(hours=amount) if unit.startswith(("hour", "heure")) else timedelta(
            days=amount * (7 if unit.startswith(("week", "semaine")) else 1))
        if not timedelta(hours=1) <= duration <= timedelta(days=30):
            raise _problem(N_("a survey stays open between 1 hour and 30 days"), usage_key)
        rest = rest[:d.start()] + rest[d.end():]
    return SurveySpec(tuple(questions), " ".join(rest.split()), duration)


def dump(questions: tuple[Question, ...]) -> str:
    """Questions as stored (JSON)."""
    return json.dumps([{"text": q.text, "kind": q.kind, "options": [list(o) for o in q.options]}
                       for q in questions], ensure_ascii=False)


def load(raw: str) -> tuple[Question, ...]:
    """Questions from their stored form."""
    return tuple(Question(q["text"], q["kind"], tuple((str(i), str(label)) for i, label in q["options"]))
                 for q in json.loads(raw or "[]"))
