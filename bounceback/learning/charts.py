"""Small accessible SVG charts drawn on the server (no script, readable by screen readers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


def _n(value: float) -> str:
    return f"{value:.1f}"


WIDTH = 560
HEIGHT = 160
PAD = 24


@dataclass
class Bar:
    label: str  # under the bar (may be empty to keep the axis light)
    value: float
    title: str  # what a hover or a screen reader says
    href: str = ""
    tone: str = "base"  # base, before, after, alert


def bars(
    items: Sequence[Bar], *, title: str, marker: int | None = None, marker_label: str = ""
) -> SafeString:
    """A bar chart; `marker` draws a dashed line before the bar of that index (a change)."""
    n = max(len(items), 1)
    top = max([b.value for b in items] + [1.0])
    slot = (WIDTH - 2 * PAD) / n
    inner = HEIGHT - 2 * PAD
    parts = []
    for i, b in enumerate(items):
        h = inner * (b.value / top)
        x = PAD + i * slot + slot * 0.1
        y = PAD + inner - h
        rect = format_html(
            '<rect class="bar bar--{}" x="{}" y="{}" width="{}" height="{}">'
            "<title>{}</title></rect>",
            b.tone,
            _n(x),
            _n(y),
            _n(slot * 0.8),
            _n(max(h, 0.5)),
            b.title,
        )
        if b.href:
            rect = format_html('<a href="{}">{}</a>', b.href, rect)
        label = (
            format_html(
                '<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>',
                _n(x + slot * 0.4),
                HEIGHT - 6,
                b.label,
            )
            if b.label
            else ""
        )
        parts.append(format_html("{}{}", rect, label))
    line = ""
    if marker is not None:
        mx = PAD + marker * slot
        line = format_html(
            '<line class="marker" x1="{}" x2="{}" y1="{}" y2="{}" stroke-dasharray="4 3"/>'
            '<text class="marker-label" x="{}" y="{}">{}</text>',
            _n(mx),
            _n(mx),
            PAD - 6,
            HEIGHT - PAD,
            _n(mx + 4),
            PAD - 8,
            marker_label,
        )
    body = format_html_join("", "{}", ((p,) for p in parts))
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>'
        '<line class="baseline" x1="{}" x2="{}" y1="{}" y2="{}"/>{}{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        title,
        PAD,
        WIDTH - PAD,
        HEIGHT - PAD,
        HEIGHT - PAD,
        body,
        line,
    )
