"""The dashboards' charts: readable without the picture, links on every mark, AA contrast."""

from __future__ import annotations

import re

from bounceback.charts.svg import (
    GRID,
    INK,
    PALETTE,
    Bar,
    Line,
    Point,
    column_chart,
    line_chart,
    pareto_chart,
)


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast_on_white(colour: str) -> float:
    return 1.05 / (_luminance(colour) + 0.05)


def test_text_and_marks_meet_wcag_aa_on_white() -> None:
    assert _contrast_on_white(INK) >= 4.5
    assert all(_contrast_on_white(c) >= 4.5 for c in PALETTE)  # marks need 3:1, text 4.5:1
    assert _contrast_on_white(GRID) >= 3


def test_a_pareto_chart_says_how_much_the_first_causes_make_up() -> None:
    chart = pareto_chart(
        title="Cases by failure mode",
        bars=[Bar("Late", 6, href="/c?k=1"), Bar("Rude", 3, href="/c?k=2"), Bar("Cold", 1)],
    )

    assert "Late: 6 (60% of all so far). Rude: 3 (90% of all so far)." in chart.text
    assert '<a href="/c?k=1">' in chart.svg
    assert 'role="group"' in chart.svg  # a chart of links is not an image
    assert "<desc id=" in chart.svg


def test_a_line_breaks_where_there_is_no_data_and_links_its_points() -> None:
    chart = line_chart(
        title="Satisfied over time",
        x_labels=["1 Mar", "8 Mar", "15 Mar"],
        lines=[Line("Satisfied", [Point(0.5, "/a"), Point(None), Point(1.0, "/b")])],
    )

    assert chart.text == "Satisfied: 1 Mar 50%; 15 Mar 100%."
    assert "<polyline" not in chart.svg  # no two neighbouring points to join
    assert len(re.findall(r'<a href="/[ab]">', chart.svg)) == 2


def test_a_column_chart_without_links_is_an_image_and_escapes_labels() -> None:
    chart = column_chart(title="Spend", bars=[Bar("<script>", 12.0), Bar("Week 2", None)])

    assert 'role="img"' in chart.svg
    assert "<script>" not in chart.svg
    assert chart.text == "<script>: 12. Week 2: no data."
