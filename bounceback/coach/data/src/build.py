"""Turn the hand-written source files (src/*.txt) into the split's JSON Lines rows.

Each item in a source file starts with a header line
`== S | industry | channel | voice | language` (sincere) or
`== D defect,defect | industry | channel | voice | language` (deficient),
followed by the apology as written, blank lines and all.
usage: python bounceback/coach/data/src/build.py SOURCE PREFIX
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def parse(path: Path, prefix: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    header: list[str] | None = None
    body: list[str] = []

    def flush() -> None:
        if header is None:
            return
        label, industry, channel, voice, language = header
        kind, _, defects = label.partition(" ")
        text = "\n".join(body).strip()
        assert text, header
        rows.append(
            {
                "id": f"{prefix}-{len(rows) + 1:03d}",
                "text": text,
                "label": "sincere" if kind == "S" else "deficient",
                "defects": [d for d in defects.split(",") if d] if kind == "D" else [],
                "industry": industry,
                "channel": channel,
                "voice": voice,
                "language": language,
            }
        )

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("== "):
            flush()
            header = [p.strip() for p in line[3:].split("|")]
            assert len(header) == 5 and header[0][0] in "SD", line
            assert header[0][0] == "S" or len(header[0]) > 2, line
            body = []
        else:
            body.append(line)
    flush()
    return rows


if __name__ == "__main__":
    for row in parse(Path(sys.argv[1]), sys.argv[2]):
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
