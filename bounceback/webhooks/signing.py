"""Signatures and the one HTTP POST every outgoing call goes through.

Both directions sign the same way: `X-Bounceback-Timestamp: <unix seconds>` and
`X-Bounceback-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
The timestamp inside the signed text is what stops a captured request being
replayed later; receivers must refuse old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Bounceback-Signature"
TIMESTAMP_HEADER = "X-Bounceback-Timestamp"
USER_AGENT = "Bounceback-Webhooks/1"
EXCERPT = 500


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


_opener = urllib.request.build_opener(_NoRedirect)


def post_json(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST `body`; never raises for network or HTTP trouble, it is all in the Response."""
    request = urllib.request.Request(  # noqa: S310 (http/https only, checked when the URL is saved)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
    )
    try:
        with _opener.open(request, timeout=timeout) as answer:
            text = answer.read(EXCERPT * 4).decode("utf-8", "replace")
            return Response(status=answer.status, excerpt=text[:EXCERPT], error="")
    except urllib.error.HTTPError as exc:
        try:
            text = exc.read(EXCERPT * 4).decode("utf-8", "replace")
        except OSError:
            text = ""
        finally:
            exc.close()
        return Response(status=exc.code, excerpt=text[:EXCERPT], error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Response(status=None, excerpt="", error=f"{type(exc).__name__}: {reason}"[:500])
