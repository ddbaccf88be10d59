"""A closed survey's results as CSV: aggregates only, the same ones the results post shows.

One row per option of each question shown (answers and share), the mean on each row of a scale or
emoji question, and for a free-text question only how many comments there were. A question with
fewer than k answers is one row saying so, with no figure at all; comments themselves never leave
(they went to the coordinators at closing). Cells are spreadsheet-safe (`safe_cell`).
"""

from __future__ import annotations

import csv
import io

from bot.i18n import N_, translator
from bot.pulse.results import SurveyResult
from bot.reputation.export import safe_cell

COLUMNS = ("survey", "title", "closed", "respondents", "question", "question_text", "kind", "option", "answers",
           "percent", "mean", "note")


def result_rows(result: SurveyResult, locale: str = "en") -> list[dict[str, str]]:
    """The aggregate rows of one survey's result (see the module's docstring); the notes read in `locale`, the
    column names and values stay as they are (data for a spreadsheet)."""
    _ = translator(locale)
    survey = result.survey
    head = {"survey": str(survey.id), "title": survey.title,
            "closed": survey.closed_at.isoformat(timespec="minutes") if survey.closed_at else "",
            "respondents": str(result.respondents)}
    rows = []
    for number, q in enumerate(result.questions, 1):
        base = {**head, "question": str(number), "question_text": q.question.text, "kind": q.question.kind,
                "option": "", "answers": "", "percent": "", "mean": "", "note": ""}
        if not q.shown:
            rows.append({**base, "note": _(N_("hidden: fewer than {k} answers"), k=result.k)})
        elif q.question.kind == "text":
            rows.append({**base, "option": _(N_("(comments)")), "answers": str(q.answers),
                         "note": _(N_("comments go to the coordinators only"))})
        else:
            mean = f"{q.mean:.2f}" if q.mean is not None else ""
            rows += [{**base, "option": label, "answers": str(q.counts[i]),
                      "percent": f"{100 * q.counts[i] / q.answers:.1f}", "mean": mean}
                     for i, label in q.question.options]
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    """CSV text with a header, every cell quoted and spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(row[c]) for c in COLUMNS])
    return buffer.getvalue()
