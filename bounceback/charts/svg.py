"""Charts drawn on the server as SVG: they show without JavaScript, print, and go into email.

Each chart comes with a text alternative (the same figures in words) that the
page puts beside it, and the SVG carries a <title> and <desc> for screen
readers; a chart whose marks are links is a group of links, one without is
an image. Colours meet WCAG 2.2 AA against white (4.5:1 for text, 3:1 for
marks); every mark that stands for a set of records can link to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Dark enough for text (>= 4.5:1 on white) and told apart by more than hue:
# the step chart also dashes its lines differently.
PALETTE = ("#0b5394", "#b45309", "#15803d", "#6b21a8", "#9f1239", "#374151")
INK = "#1f2937"
GRID = "#6b7280"
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")


@dataclass(frozen=True)
class Chart:
    svg: SafeString
    text: str


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    href: str = ""
    note: str = ""


@dataclass(frozen=True)
class ReferenceLine:
    value: float
    label: str


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]
    band: Sequence[tuple[float, float, float]] = field(default_factory=tuple)
    href: str = ""


def _uid(title: str) -> str:
    """An id for the chart's title and description, unique per title on a page."""
    return "chart-" + hashlib.blake2s(title.encode(), digest_size=5).hexdigest()


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def el(tag: str, text: str | None = None, /, **attrs: object) -> str:
    """One SVG element; attribute names take '-' for '_', every value is escaped."""
    names = " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{_attr(v)}"' for k, v in attrs.items() if v != ""
    )
    opening = f"<{tag} {names}" if names else f"<{tag}"
    return f"{opening}/>" if text is None else f"{opening}>{escape(text)}</{tag}>"


def _open(uid: str, title: str, width: int, height: int, *, linked: bool) -> list[str]:
    """The chart's opening tags. A chart whose marks link to their records is a group of
    links (a screen reader lists them), not an image: an image may not hold controls."""
    role = "group" if linked else "img"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="{role}" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-labelledby="{uid}-t {uid}-d" '
        'class="chart">',
        f'<title id="{uid}-t">{escape(title)}</title>',
    ]


def bar_chart(
    *,
    title: str,
    bars: Sequence[Bar],
    references: Sequence[ReferenceLine] = (),
    maximum: float = 1.0,
    fmt: Callable[[float], str] = percent,
    width: int = 640,
) -> Chart:
    """Horizontal bars with 95% interval whiskers and labelled reference lines."""
    uid = _uid(title)
    row = 34
    left, right, top = 190, 96, 28 + 16 * len(references)
    height = top + row * max(len(bars), 1) + 30
    plot = width - left - right

    def x(v: float) -> float:
        return left + plot * max(0.0, min(v, maximum)) / maximum

    parts = _open(uid, title, width, height, linked=any(b.href for b in bars))
    lines = []
    for i, bar in enumerate(bars):
        y = top + i * row
        label = el(
            "text", bar.label, x=left - 8, y=y + 17, text_anchor="end", fill=INK, font_size=13
        )
        mark, line = _bar_mark(bar, PALETTE[i % len(PALETTE)], y, x, fmt, left, width - right)
        lines.append(line)
        if bar.href:
            tip = el("title", f"{bar.label}: show the records")
            mark = f'<a href="{_attr(bar.href)}">{tip}{mark}</a>'
        parts.append(label + mark)
    for j, ref in enumerate(references):
        rx = x(ref.value)
        parts.append(
            f'<line x1="{rx:.1f}" x2="{rx:.1f}" y1="{top - 4}" y2="{height - 26}" '
            f'stroke="{GRID}" stroke-dasharray="4 3"/>'
            f'<text x="{rx:.1f}" y="{14 + 16 * j}" fill="{INK}" font-size="11" '
            f'text-anchor="{"end" if rx > width / 2 else "start"}">{escape(fmt(ref.value))}: '
            f"{escape(ref.label)}</text>"
        )
        lines.append(f"Reference: {ref.label} ({fmt(ref.value)}).")
    parts.append(_axis(left, width - right, height - 24, maximum, fmt))
    return _close(parts, uid, " ".join(lines))


def _bar_mark(
    bar: Bar,
    colour: str,
    y: float,
    x: Callable[[float], float],
    fmt: Callable[[float], str],
    left: float,
    right_edge: float,
) -> tuple[str, str]:
    """One bar's mark (the bar, its interval whisker and its figure) and its sentence."""
    if bar.value is None:
        mark = f'<text x="{left + 4}" y="{y + 17}" fill="{INK}" font-size="13">no data yet</text>'
        return mark, f"{bar.label}: no data yet."
    mark = (
        f'<rect x="{left}" y="{y + 4}" width="{x(bar.value) - left:.1f}" height="20" '
        f'fill="{colour}"/>'
    )
    if bar.low is not None and bar.high is not None:
        mark += (
            f'<line x1="{x(bar.low):.1f}" x2="{x(bar.high):.1f}" y1="{y + 14}" '
            f'y2="{y + 14}" stroke="{INK}" stroke-width="2"/>'
            + "".join(
                el(
                    "line",
                    x1=f"{x(v):.1f}",
                    x2=f"{x(v):.1f}",
                    y1=y + 8,
                    y2=y + 20,
                    stroke=INK,
                    stroke_width=2,
                )
                for v in (bar.low, bar.high)
            )
        )
    text_x = min(x(bar.high if bar.high is not None else bar.value) + 6, right_edge + 6)
    mark += (
        f'<text x="{text_x:.1f}" y="{y + 18}" fill="{INK}" font-size="12">'
        f"{escape(fmt(bar.value))}{escape(bar.note)}</text>"
    )
    interval = (
        f" (95% interval {fmt(bar.low)} to {fmt(bar.high)})"
        if bar.low is not None and bar.high is not None
        else ""
    )
    return mark, f"{bar.label}: {fmt(bar.value)}{interval}{bar.note}."


def _axis(x0: float, x1: float, y: float, maximum: float, fmt: Callable[[float], str]) -> str:
    ticks = []
    for k in range(5):
        v = maximum * k / 4
        tx = x0 + (x1 - x0) * k / 4
        ticks.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + 4}" stroke="{GRID}"/>'
            f'<text x="{tx:.1f}" y="{y + 16}" text-anchor="middle" fill="{INK}" '
            f'font-size="11">{escape(fmt(v))}</text>'
        )
    return f'<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="{GRID}"/>' + "".join(ticks)


def step_chart(
    *,
    title: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    x_max: float | None = None,
    width: int = 720,
    height: int = 300,
) -> Chart:
    """Step lines (a survival curve, say) from 1 down, each with a light interval band."""
    uid = _uid(title)
    left, right, top, bottom = 56, 220, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [p[0] for s in series for p in s.points]
    span = x_max or (max(xs) if xs else 1.0) or 1.0

    def px(v: float) -> float:
        return left + plot_w * min(v, span) / span

    def py(v: float) -> float:
        return top + plot_h * (1 - v)

    parts = _open(uid, title, width, height, linked=any(s.href for s in series))
    lines = []
    for i, s in enumerate(series):
        if not s.points:
            lines.append(f"{s.label}: no data yet.")
            continue
        colour = PALETTE[i % len(PALETTE)]
        if s.band:
            upper = _steps([(b[0], b[2]) for b in s.band], span)
            lower = _steps([(b[0], b[1]) for b in s.band], span)
            poly = [f"{px(a):.1f},{py(b):.1f}" for a, b in upper] + [
                f"{px(a):.1f},{py(b):.1f}" for a, b in reversed(lower)
            ]
            parts.append(
                f'<polygon points="{" ".join(poly)}" fill="{colour}" fill-opacity="0.07"/>'
            )
        path = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in _steps(list(s.points), span))
        dash = f' stroke-dasharray="{DASHES[i % len(DASHES)]}"' if DASHES[i % len(DASHES)] else ""
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>'
        )
        ly = top + 18 * i + 8
        legend = (
            f'<line x1="{width - right + 10}" x2="{width - right + 34}" y1="{ly}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2.5"{dash}/>'
            + el("text", s.label, x=width - right + 40, y=ly + 4, fill=INK, font_size=12)
        )
        if s.href:
            legend = f'<a href="{_attr(s.href)}">{legend}</a>'
        parts.append(legend)
        last = s.points[-1]
        lines.append(f"{s.label}: {percent(last[1])} after {last[0]:.0f} {x_label.lower()}.")
    parts += _step_axes(px, py, span, x_label, y_label, left, top, plot_w, plot_h, height)
    return _close(parts, uid, " ".join(lines))


def _step_axes(
    px: Callable[[float], float],
    py: Callable[[float], float],
    span: float,
    x_label: str,
    y_label: str,
    left: float,
    top: float,
    plot_w: float,
    plot_h: float,
    height: int,
) -> list[str]:
    """The step chart's grid, tick labels and axis titles."""
    axes: list[str] = []
    for k in range(5):
        v = k / 4
        axes.append(
            f'<line x1="{left - 4}" x2="{left + plot_w}" y1="{py(v):.1f}" y2="{py(v):.1f}" '
            f'stroke="{GRID}" stroke-opacity="0.35"/>'
            + el(
                "text",
                percent(v),
                x=left - 8,
                y=f"{py(v) + 4:.1f}",
                text_anchor="end",
                fill=INK,
                font_size=11,
            )
        )
        xv = span * k / 4
        axes.append(
            f'<text x="{px(xv):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="{INK}" '
            f'font-size="11">{xv:.0f}</text>'
        )
    middle = f"{top + plot_h / 2:.1f}"
    axes.append(
        el(
            "text",
            x_label,
            x=f"{left + plot_w / 2:.1f}",
            y=height - 6,
            text_anchor="middle",
            fill=INK,
            font_size=12,
        )
        + el(
            "text",
            y_label,
            x=14,
            y=middle,
            transform=f"rotate(-90 14 {middle})",
            text_anchor="middle",
            fill=INK,
            font_size=12,
        )
    )
    return axes


def _steps(points: list[tuple[float, float]], span: float) -> list[tuple[float, float]]:
    """A right-continuous step function's corners, carried on to the right edge."""
    out: list[tuple[float, float]] = []
    for i, (x, y) in enumerate(points):
        if i:
            out.append((x, out[-1][1]))
        out.append((x, y))
    if out:
        out.append((span, out[-1][1]))
    return out


# --- Dashboards: columns over time, lines over time, Pareto --------------------------------


@dataclass(frozen=True)
class Point:
    """One value of a line at one x label (None: nothing to show there), with its records."""

    value: float | None
    href: str = ""


@dataclass(frozen=True)
class Line:
    label: str
    points: Sequence[Point]


def count(value: float) -> str:
    return f"{value:,.0f}"


def _nice_max(value: float) -> float:
    """The axis top: the value rounded up to 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _close(parts: list[str], uid: str, text: str) -> Chart:
    parts.insert(2, f'<desc id="{uid}-d">{escape(text)}</desc>')
    parts.append("</svg>")
    return Chart(svg=mark_safe("".join(parts)), text=text)  # noqa: S308 - every value escaped


def _y_axis(
    left: float, right: float, top: float, plot_h: float, top_value: float, fmt: Callable[..., str]
) -> str:
    out = []
    for k in range(5):
        v = top_value * k / 4
        y = top + plot_h * (1 - k / 4)
        out.append(
            f'<line x1="{left - 4}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
            f'stroke-opacity="{0.9 if k == 0 else 0.3}"/>'
            + el(
                "text",
                fmt(v),
                x=left - 8,
                y=f"{y + 4:.1f}",
                text_anchor="end",
                fill=INK,
                font_size=11,
            )
        )
    return "".join(out)


def _x_labels(labels: Sequence[str], xs: Sequence[float], y: float) -> str:
    """Every label when they fit, else every second or third one (the table has them all)."""
    step = max(1, -(-len(labels) // 8))
    return "".join(
        el("text", label, x=f"{x:.1f}", y=y, text_anchor="middle", fill=INK, font_size=11)
        for i, (label, x) in enumerate(zip(labels, xs, strict=True))
        if i % step == 0
    )


def column_chart(
    *,
    title: str,
    bars: Sequence[Bar],
    fmt: Callable[[float], str] = count,
    maximum: float | None = None,
    width: int = 640,
    height: int = 240,
) -> Chart:
    """Vertical bars, one per period or group, each a link to the records behind it."""
    uid = _uid(title)
    left, right, top, bottom = 56, 12, 18, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [b.value for b in bars if b.value is not None]
    top_value = maximum or _nice_max(max(values, default=0.0))
    slot = plot_w / max(len(bars), 1)
    parts = _open(uid, title, width, height, linked=any(b.href for b in bars))
    parts.append(_y_axis(left, width - right, top, plot_h, top_value, fmt))
    lines = []
    xs = []
    for i, bar in enumerate(bars):
        cx = left + slot * (i + 0.5)
        xs.append(cx)
        if bar.value is None:
            lines.append(f"{bar.label}: no data.")
            continue
        h = plot_h * min(bar.value, top_value) / top_value
        mark = (
            f'<rect x="{cx - slot * 0.36:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.72:.1f}" height="{max(h, 0.5):.1f}" fill="{PALETTE[0]}"/>'
        )
        if bar.href:
            tip = el("title", f"{bar.label}: {fmt(bar.value)}{bar.note}, show them")
            mark = f'<a href="{_attr(bar.href)}">{tip}{mark}</a>'
        parts.append(mark)
        lines.append(f"{bar.label}: {fmt(bar.value)}{bar.note}.")
    parts.append(_x_labels([b.label for b in bars], xs, height - 12))
    return _close(parts, uid, " ".join(lines) or "No data.")


# Long on purpose: one pass over each line draws its runs, its markers (links to
# the records) and its legend, and says the same in words; the pieces share a
# dozen coordinates that a split would pass around.
def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    lines: Sequence[Line],
    fmt: Callable[[float], str] = percent,
    maximum: float | None = None,
    width: int = 640,
    height: int = 260,
) -> Chart:
    """Lines over time, told apart by colour, dash and marker; each point links to its records.

    A gap (None) breaks the line rather than drawing through it.
    """
    uid = _uid(title)
    left, right, top, bottom = 56, 12, 18 + 18 * len(lines), 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for s in lines for p in s.points if p.value is not None]
    top_value = maximum or _nice_max(max(values, default=0.0))
    slot = plot_w / max(len(x_labels), 1)
    xs = [left + slot * (i + 0.5) for i in range(len(x_labels))]

    def py(v: float) -> float:
        return top + plot_h * (1 - min(v, top_value) / top_value)

    linked = any(p.href for s in lines for p in s.points)
    parts = _open(uid, title, width, height, linked=linked)
    parts.append(_y_axis(left, width - right, top, plot_h, top_value, fmt))
    words = []
    for i, line in enumerate(lines):
        colour = PALETTE[i % len(PALETTE)]
        dash = DASHES[i % len(DASHES)]
        runs: list[list[str]] = [[]]
        for x, p in zip(xs, line.points, strict=False):
            if p.value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x:.1f},{py(p.value):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    el(
                        "polyline",
                        points=" ".join(run),
                        fill="none",
                        stroke=colour,
                        stroke_width=2.5,
                        stroke_dasharray=dash,
                    )
                )
        for x, label, p in zip(xs, x_labels, line.points, strict=False):
            if p.value is None:
                continue
            marker = (
                el("circle", cx=f"{x:.1f}", cy=f"{py(p.value):.1f}", r=4, fill=colour)
                if i % 2 == 0
                else el(
                    "rect",
                    x=f"{x - 4:.1f}",
                    y=f"{py(p.value) - 4:.1f}",
                    width=8,
                    height=8,
                    fill=colour,
                )
            )
            if p.href:
                tip = el("title", f"{line.label}, {label}: {fmt(p.value)}, show them")
                marker = f'<a href="{_attr(p.href)}">{tip}{marker}</a>'
            parts.append(marker)
        ly = 14 + 18 * i
        parts.append(
            el(
                "line",
                x1=left,
                x2=left + 24,
                y1=ly,
                y2=ly,
                stroke=colour,
                stroke_width=2.5,
                stroke_dasharray=dash,
            )
            + el("text", line.label, x=left + 30, y=ly + 4, fill=INK, font_size=12)
        )
        shown = [
            f"{lab} {fmt(p.value)}"
            for lab, p in zip(x_labels, line.points, strict=False)
            if p.value is not None
        ]
        words.append(f"{line.label}: " + ("; ".join(shown) if shown else "no data") + ".")
    parts.append(_x_labels(x_labels, xs, height - 12))
    return _close(parts, uid, " ".join(words))


# Long on purpose: each bar, its label and its point on the cumulative line come
# from one running total, drawn and said in words in the same pass.
def pareto_chart(*, title: str, bars: Sequence[Bar], width: int = 640, height: int = 280) -> Chart:
    """Counts largest first, with the running share of the total as a line on a 0-100% axis.

    The bars are drawn in the order given (the caller sorts them); the cumulative
    line says which few causes make most of the cases.
    """
    uid = _uid(title)
    left, right, top, bottom = 56, 48, 30, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [b.value or 0.0 for b in bars]
    total = sum(values)
    top_value = _nice_max(max(values, default=0.0))
    slot = plot_w / max(len(bars), 1)
    parts = _open(uid, title, width, height, linked=any(b.href for b in bars))
    parts.append(_y_axis(left, width - right, top, plot_h, top_value, count))
    running = 0.0
    cumulative: list[str] = []
    lines = []
    for i, (bar, v) in enumerate(zip(bars, values, strict=True)):
        cx = left + slot * (i + 0.5)
        h = plot_h * v / top_value
        mark = (
            f'<rect x="{cx - slot * 0.38:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.76:.1f}" height="{max(h, 0.5):.1f}" fill="{PALETTE[0]}"/>'
        )
        if bar.href:
            tip = el("title", f"{bar.label}: {count(v)} cases, show them")
            mark = f'<a href="{_attr(bar.href)}">{tip}{mark}</a>'
        parts.append(mark)
        running += v
        share = running / total if total else 0.0
        cumulative.append(f"{cx:.1f},{top + plot_h * (1 - share):.1f}")
        label = bar.label if len(bar.label) <= 14 else bar.label[:13] + "…"
        parts.append(
            el(
                "text",
                label,
                x=f"{cx:.1f}",
                y=top + plot_h + 14,
                text_anchor="end",
                transform=f"rotate(-30 {cx:.1f} {top + plot_h + 14})",
                fill=INK,
                font_size=11,
            )
        )
        lines.append(f"{bar.label}: {count(v)} ({percent(share)} of all so far).")
    if cumulative:
        parts.append(
            el(
                "polyline",
                points=" ".join(cumulative),
                fill="none",
                stroke=PALETTE[1],
                stroke_width=2.5,
                stroke_dasharray=DASHES[1],
            )
            + "".join(
                el("circle", cx=c.split(",")[0], cy=c.split(",")[1], r=3.5, fill=PALETTE[1])
                for c in cumulative
            )
        )
    for k in range(5):
        y = top + plot_h * (1 - k / 4)
        parts.append(
            el(
                "text",
                percent(k / 4),
                x=width - right + 6,
                y=f"{y + 4:.1f}",
                fill=INK,
                font_size=11,
            )
        )
    parts.append(
        el("rect", x=left, y=6, width=12, height=12, fill=PALETTE[0])
        + el("text", "Cases", x=left + 18, y=16, fill=INK, font_size=12)
        + el(
            "line",
            x1=left + 80,
            x2=left + 104,
            y1=12,
            y2=12,
            stroke=PALETTE[1],
            stroke_width=2.5,
            stroke_dasharray=DASHES[1],
        )
        + el("text", "Share of all cases so far", x=left + 110, y=16, fill=INK, font_size=12)
    )
    return _close(parts, uid, " ".join(lines) or "No cases.")
