"""Signatures and the one HTTP POST every outgoing call goes through.

Both directions sign the same way: `X-Bounceback-Timestamp: <unix seconds>` and
`X-Bounceback-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
The timestamp inside the signed text is what stops a captured request being
replayed later; receivers must refuse old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from bounceback.webhooks import egress

SIGNATURE_HEADER = "X-Bounceback-Signature"
TIMESTAMP_HEADER = "X-Bounceback-Timestamp"
USER_AGENT = "Bounceback-Webhooks/1"
# What the delivery log keeps of a receiver's answer: its status line and this
# much of its body, as plain text. A receiver's body can be anything (an internal
# page, a stack trace with secrets), so never more than a hint of it.
EXCERPT = 80
_MARKUP = re.compile(r"<[^>]*>")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]+")
_SPACE = re.compile(r"\s+")


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def mask(secret: str) -> str:
    """What the UI shows of a stored secret: enough to tell two apart, not to use one."""
    return f"{secret[:8]}…{secret[-4:]}" if len(secret) > 16 else "••••"


def sign(*, secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signed_headers(*, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, body=body),
    }


def signature_problem(
    *, secret: str, timestamp: str | None, signature: str | None, body: bytes, tolerance: int
) -> str | None:
    """Why the request's signature is not acceptable, or None when it is."""
    if not timestamp:
        return f"the {TIMESTAMP_HEADER} header is missing"
    if not signature:
        return f"the {SIGNATURE_HEADER} header is missing"
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        return f"{TIMESTAMP_HEADER} must be unix seconds"
    if abs(time.time() - sent_at) > tolerance:
        return f"{TIMESTAMP_HEADER} is more than {tolerance} seconds away from our clock"
    expected = sign(secret=secret, timestamp=sent_at, body=body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return "the signature does not match the body"
    return None


@dataclass(frozen=True)
class Response:
    status: int | None  # None: no HTTP answer at all (refused, timed out, bad TLS)
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET to somewhere else and drop the
    # body: a receiver that moved must be given its new URL.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = egress.build_opener(_NoRedirect)


def excerpt_of(raw: bytes) -> str:
    """A short, single-line, markup-free hint of a body for the delivery log."""
    text = raw.decode("utf-8", "replace")
    text = _SPACE.sub(" ", _UNPRINTABLE.sub(" ", _MARKUP.sub(" ", text))).strip()
    return text if len(text) <= EXCERPT else f"{text[: EXCERPT - 1]}…"


def _answer(status: int, reason: str, raw: bytes) -> str:
    status_line = f"{status} {excerpt_of(reason.encode())}".strip()
    body = excerpt_of(raw)
    return f"{status_line}: {body}" if body else status_line


def post_json(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST `body`; never raises for network or HTTP trouble, it is all in the Response."""
    request = urllib.request.Request(  # noqa: S310 (http/https only; the opener refuses internal addresses)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
    )
    try:
        with _opener.open(request, timeout=timeout) as answer:
            raw = answer.read(EXCERPT * 8)
            return Response(
                status=answer.status, excerpt=_answer(answer.status, answer.reason, raw), error=""
            )
    except urllib.error.HTTPError as exc:
        try:
            raw = exc.read(EXCERPT * 8)
        except OSError:
            raw = b""
        finally:
            exc.close()
        excerpt = _answer(exc.code, str(exc.reason), raw)
        return Response(status=exc.code, excerpt=excerpt, error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Response(status=None, excerpt="", error=f"{type(exc).__name__}: {reason}"[:500])
