"""Bar charts as inline SVG for the web pages: no script, no image file, printable, and labelled for screen
readers (`role="img"` with a title; each chart sits beside a table of the same numbers).

Labels and titles are escaped here (markupsafe), so a community's name or a survey's title stays text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 16, 40
COLOURS = ("#08519c", "#9ecae1", "#e6550d", "#74c476")


@dataclass(frozen=True)
class Series:
    """One row of bars: its name (the legend) and one value per label (None: no value, no bar)."""

    name: str
    values: Sequence[float | None]


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *, stacked: bool = False,
              top: float | None = None) -> Markup:
    """Grouped (or `stacked`) bars, one group per label; `top` fixes the scale's maximum (e.g. 5 for a pulse)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if stacked:
        totals = [sum(v or 0 for v in values) for values in zip(*(s.values for s in series), strict=True)]
    else:
        totals = [v or 0 for s in series for v in s.values]
    highest = top if top is not None else _whole_ticks(max([1.0, *totals]))
    group_w = plot_w / max(1, len(labels))
    bar_w = group_w * 0.7 / (1 if stacked else max(1, len(series)))
    parts = [Markup('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" class="chart">'
                    '<title>{title}</title>').format(w=WIDTH, h=HEIGHT, title=title)]
    for tick in (0.0, highest / 2, highest):
        y = TOP + plot_h - plot_h * tick / highest
        parts.append(Markup('<line x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                            '<text x="{tx}" y="{ty:.1f}" class="tick">{v}</text>').format(
            x1=LEFT, x2=WIDTH - RIGHT, y=y, tx=LEFT - 4, ty=y + 4, v=_number(tick)))
    for i, label in enumerate(labels):
        x0 = LEFT + i * group_w + group_w * 0.15
        base = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            h = plot_h * value / highest
            x = x0 if stacked else x0 + j * bar_w
            y = TOP + plot_h - h - (plot_h * base / highest if stacked else 0)
            parts.append(Markup('<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{c}">'
                                '<title>{name}, {label}: {v}</title></rect>').format(
                x=x, y=y, w=bar_w, h=h, c=COLOURS[j % len(COLOURS)], name=s.name, label=label, v=_number(value)))
            if stacked:
                base += value
        parts.append(Markup('<text x="{x:.1f}" y="{y}" class="label">{label}</text>').format(
            x=LEFT + i * group_w + group_w / 2, y=HEIGHT - BOTTOM + 16, label=label))
    for j, s in enumerate(series):
        x = LEFT + j * 160
        parts.append(Markup('<rect x="{x}" y="{y}" width="10" height="10" fill="{c}"/>'
                            '<text x="{tx}" y="{ty}" class="legend">{name}</text>').format(
            x=x, y=HEIGHT - 14, c=COLOURS[j % len(COLOURS)], tx=x + 14, ty=HEIGHT - 5, name=s.name))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _whole_ticks(highest: float) -> float:
    """A scale's top for counts: whole, and even, so its middle tick is a whole number too."""
    top = math.ceil(highest)
    return float(top + top % 2)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


__all__ = ["Series", "bar_chart"]
