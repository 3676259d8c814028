"""Each tile drawn as a server-side SVG chart (bounceback.charts.svg)."""

from __future__ import annotations

from decimal import Decimal

from bounceback.charts.svg import (
    Bar,
    Chart,
    Line,
    Point,
    bar_chart,
    column_chart,
    count,
    line_chart,
    pareto_chart,
    percent,
)
from bounceback.dashboards.selectors import Tile


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _nice(value: float) -> float:
    from bounceback.charts.svg import _nice_max

    return _nice_max(value)


def tile_chart(tile: Tile) -> Chart | None:
    """The chart that reads best for the tile, or None for a tile with nothing to draw."""
    if not tile.rows:
        return None
    key, _heading, unit = tile.columns[0]
    if tile.chart == "pareto":
        return pareto_chart(
            title=tile.title,
            bars=[
                Bar(label=r.label, value=float(r.values["cases"]), href=r.href) for r in tile.rows
            ],
        )
    if tile.chart == "lines":
        if tile.name == "first_response":
            lines = [
                Line(
                    "Answered within an hour",
                    [Point(r.values["within_hour"], r.href) for r in tile.rows],
                )
            ]
        else:
            lines = [
                Line(
                    "Satisfied",
                    [Point(r.values["satisfied"], r.values["satisfied_href"]) for r in tile.rows],
                ),
                Line(
                    "Would return",
                    [
                        Point(r.values["would_return"], r.values["would_return_href"])
                        for r in tile.rows
                    ],
                ),
            ]
        return line_chart(
            title=tile.title,
            x_labels=[r.label for r in tile.rows],
            lines=lines,
            fmt=percent,
            maximum=1.0,
        )
    values = [r.values.get(key) for r in tile.rows]
    numbers = [float(v) for v in values if isinstance(v, int | float | Decimal)]
    if tile.chart == "columns":
        return column_chart(
            title=tile.title,
            bars=[
                Bar(label=r.label, value=float(v) if v is not None else None, href=r.href)
                for r, v in zip(tile.rows, values, strict=True)
            ],
            fmt=_money if unit == "money" else count,
        )
    if unit == "share":
        return bar_chart(
            title=tile.title,
            bars=[
                Bar(label=r.label, value=v, href=r.href, note=f" of {r.values.get('steps', 0)}")
                for r, v in zip(tile.rows, values, strict=True)
            ],
            maximum=1.0,
        )
    return bar_chart(
        title=tile.title,
        bars=[
            Bar(label=r.label, value=float(v or 0), href=r.href)
            for r, v in zip(tile.rows, values, strict=True)
        ],
        maximum=_nice(max(numbers, default=0.0)),
        fmt=count,
    )
