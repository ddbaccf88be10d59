"""The digest's charts (PNG, matplotlib with the Agg backend, imported only when drawing):

- a community's month: messages and active members per month, with the pulse, over six months;
- a portfolio: each community's active members over six months side by side, and the share of its questions
  answered, labelled with its stage — the same figures as each community's digest.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from bot.digest.report import Digest, MonthActivity
from bot.digest.stage import STAGES
from bot.i18n import Translate

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure() -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 5), dpi=100)


def _png(fig: Any) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def render_chart(history: tuple[MonthActivity, ...], _: Translate) -> bytes:
    """An 800×500 PNG of one community's last six months."""
    fig = _figure()
    ax, pulse_ax = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    labels = [f"{h.month:%Y-%m}" for h in history]
    ax.bar(labels, [h.messages for h in history], color="#9ecae1", label=_("messages"))
    ax.set_ylabel(_("messages"))
    people = ax.twinx()
    people.plot(labels, [h.active for h in history], color="#08519c", marker="o", label=_("active members"))
    people.set_ylabel(_("active members"))
    people.set_ylim(0, max([1, *(h.active for h in history)]) * 1.3)  # headroom for the legend
    ax.set_ylim(0, max([1, *(h.messages for h in history)]) * 1.3)
    handles, texts = ax.get_legend_handles_labels()
    more_handles, more_texts = people.get_legend_handles_labels()
    ax.legend([*handles, *more_handles], [*texts, *more_texts], loc="upper left", fontsize="small")
    ax.set_title(_("Activity and pulse, last 6 months"))
    pulse = [(label, h.pulse) for label, h in zip(labels, history, strict=True) if h.pulse is not None]
    pulse_ax.plot([p[0] for p in pulse], [p[1] for p in pulse], color="#e6550d", marker="s")
    pulse_ax.set_ylim(1, 5)
    pulse_ax.set_ylabel(_("pulse (1-5)"))
    if not pulse:
        pulse_ax.text(0.5, 0.5, _("no survey with enough answers"), ha="center", va="center",
                      transform=pulse_ax.transAxes, color="#777777")
    return _png(fig)


def render_portfolio_chart(digests: tuple[Digest, ...], _: Translate) -> bytes:
    """An 800×500 PNG: active members per month, one line per community; below, each community's share of
    question threads answered, its bar labelled with its stage."""
    fig = _figure()
    ax, health = fig.subplots(2, 1, height_ratios=(3, 2))
    for d in digests:
        ax.plot([f"{h.month:%Y-%m}" for h in d.history], [h.active for h in d.history], marker="o", label=d.name)
    ax.set_ylabel(_("active members"))
    ax.set_ylim(0, max([1, *(h.active for d in digests for h in d.history)]) * 1.3)
    ax.set_title(_("Communities side by side, last 6 months"))
    if digests:
        ax.legend(loc="upper left", fontsize="small")
    rows = range(len(digests))  # by position: two communities may share a name
    rates = [100 * d.answered / d.questions if d.questions else 0.0 for d in digests]
    bars = health.barh(rows, rates, color="#74c476")
    health.set_yticks(rows, [d.name for d in digests])
    health.set_xlim(0, 100)
    health.invert_yaxis()
    health.set_xlabel(_("questions answered this month (%)"))
    for bar, d in zip(bars, digests, strict=True):
        health.text(2, bar.get_y() + bar.get_height() / 2, _(STAGES[d.stage.name]), va="center",
                    fontsize="small")
    if not digests:
        health.text(0.5, 0.5, _("no community"), ha="center", va="center", transform=health.transAxes)
    return _png(fig)
