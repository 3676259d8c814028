"""Accessibility checks for the browser tests: axe-core (vendored in testing/axe/) run in the page.

    from bounceback.testing.accessibility import assert_accessible
    assert_accessible(page, "the case page")

axe is put into the page through the DevTools protocol (`page.evaluate`), not as a
<script> tag, so a strict Content-Security-Policy does not get in its way, and
Bounceback never serves it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "axe" / "axe.min.js"
# The impacts a page may not have; "moderate" and "minor" are reported, not failed.
FAILING = ("serious", "critical")


@cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Any, *, impacts: tuple[str, ...] = FAILING) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, of the given impacts."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_source())
    found = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => ({
                    target: n.target.join(" "), summary: n.failureSummary || ""
                })),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']}: {v['id']}: {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {node['target']}: {node['summary'].splitlines()[-1:]}")
    return "\n".join(lines)


def assert_accessible(page: Any, where: str) -> None:
    """Fail with axe's own words on any serious or critical violation."""
    violations = axe_violations(page)
    assert not violations, f"accessibility violations on {where}:\n{describe(violations)}"


def navigation_fits(page: Any) -> bool:
    """The top bar shows every item on one line, without a scrollbar, clipping or overlap."""
    return bool(
        page.evaluate(
            """() => {
                const bar = document.querySelector(".topbar__inner") || document.body;
                const nav = document.querySelector(".mainnav");
                const page = document.documentElement;
                const fits = el => !el || el.scrollWidth <= el.clientWidth + 1;
                const items = [...document.querySelectorAll(
                    ".mainnav > ul > li > a, .navmore summary, .usermenu summary, .bell")];
                const inView = items.every(a => { const r = a.getBoundingClientRect();
                    return r.right <= window.innerWidth + 1 && r.left >= -1 && r.top >= -1; });
                const tops = new Set(items.filter(a => a.closest(".mainnav"))
                    .map(a => Math.round(a.getBoundingClientRect().top)));
                // Side by side and never on top of each other (the search box included).
                const row = [...items, ...document.querySelectorAll(".topsearch input")]
                    .map(a => a.getBoundingClientRect()).sort((a, b) => a.left - b.left);
                const apart = row.every((r, i) => i === 0 || row[i - 1].right <= r.left + 1);
                return fits(bar) && fits(nav) && page.scrollWidth <= window.innerWidth + 1
                    && inView && tops.size <= 1 && apart;
            }"""
        )
    )
