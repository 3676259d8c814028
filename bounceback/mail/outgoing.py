"""What an email about a case looks like on the wire: threading headers, parts, reply-to.

(Minimal first version; the mail intake work replaces it with threading
headers, an HTML part and a reply-to that lands back in the case.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CaseEmail:
    subject: str
    body_text: str
    body_html: str = ""
    reply_to: str = ""
    in_reply_to: str = ""
    references: str = ""


def case_email(*, case: Any, subject: str, body: str) -> CaseEmail:
    return CaseEmail(subject=subject, body_text=body)
