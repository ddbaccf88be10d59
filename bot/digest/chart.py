"""The digest's one chart: messages and active members per month, with the pulse, over six months (PNG)."""

from __future__ import annotations

import io

from bot.digest.report import MonthActivity
from bot.i18n import Translate


def render_chart(history: tuple[MonthActivity, ...], _: Translate) -> bytes:
    """An 800×500 PNG; matplotlib is imported here, with the Agg backend, so the core does not pay for it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=100)
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
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
