"""HTML mail as safe plain text: no tags, scripts or styles; links kept; tidy whitespace.

The result is shown escaped like any other text, so nothing from the mail's
markup can run or style the staff pages.
"""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "table", "blockquote"})
# Their content is never text a person wrote to us.
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object"})
_SPACES = re.compile(r"[ \t\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
            return
        if self.skipping:
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag in _PARAGRAPH else "\n")
        if tag == "pre":
            self.pre += 1
        if tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            self.links.append((href, len(self.out)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            return
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
            return
        if self.skipping:
            return
        if tag == "pre":
            self.pre = max(self.pre - 1, 0)
        if tag in _BLOCK:
            self.out.append("\n")
        if tag == "a" and self.links:
            href, start = self.links.pop()
            # Only the start of the label: joining everything since <a> on each
            # </a> is quadratic in nested or unclosed links (a hostile message).
            label = "".join(self.out[start : start + 64]).strip()
            if href.lower().startswith(("http://", "https://", "mailto:")):
                shown = href.removeprefix("mailto:")
                if shown not in label:
                    self.out.append(f" ({shown})" if label else shown)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML body; never raises on broken markup."""
    parser = _TextParser()
    # html.parser is lenient; on the rare failure keep whatever it read.
    with contextlib.suppress(Exception):
        parser.feed(html)
        parser.close()
    text = "".join(parser.out)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
