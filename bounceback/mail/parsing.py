"""Raw email bytes -> what intake needs to know, without ever raising.

Everything here is a pure function over bytes. Real mail is often broken:
wrong charset labels, 8-bit bytes in headers, truncated base64, no headers at
all. The parser takes the best reading it can and records what it could not
understand in `problems`, so intake can hold the message for a person instead
of failing.
"""

from __future__ import annotations

import email
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from bounceback.mail.html_text import html_to_text

_MSGID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_BARE_MSGID = re.compile(r"[^<>\s]+@[^<>\s]+")
# Labels that mailers put on text that is really UTF-8 or Windows-1252.
_WEAK_LABELS = frozenset(
    {"", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}
)
# Only phrases a person would not start a complaint's subject with.
_OUT_OF_OFFICE = re.compile(
    r"^\s*(out of (the )?office\b|automatic reply\b|auto(matic)?[- ]?(reply|response)\b|"
    r"auto:|autoreply\b|vacation (reply|response|notice)\b|away from (the )?office\b|"
    r"abwesenheitsnotiz\b|automatische antwort\b|"
    r"r[ée]ponse automatique\b|absence du bureau\b|"
    r"respuesta autom[aá]tica\b|fuera de la oficina\b|"
    r"risposta automatica\b|fuori sede\b|"
    r"automatisch antwoord\b|afwezigheidsbericht\b|"
    r"resposta autom[aá]tica\b|fora do escrit[oó]rio\b)",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
# The quoted earlier message of a reply starts at one of these lines.
_QUOTE_STARTS = [
    re.compile(r"^\s*on\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*le\b.{0,300}\ba [ée]crit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*el\b.{0,300}\bescribi[óo]\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*-{2,}\s*original message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(urspr[üu]ngliche nachricht|message d'origine)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{20,}\s*$"),
    re.compile(r"^\s*-{5,}\s*forwarded message\s*-{5,}\s*$", re.IGNORECASE),
]
_OUTLOOK_HEADER = re.compile(r"^\s*\*?(from|von|de)\s*:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(sent|date|gesendet|envoy[ée]|to|an|subject)\s*:", re.I)
_BLOCKED_EXTENSIONS = frozenset(
    [
        ".exe",
        ".bat",
        ".cmd",
        ".com",
        ".scr",
        ".pif",
        ".js",
        ".jse",
        ".vbs",
        ".vbe",
        ".wsf",
        ".wsh",
        ".msi",
        ".msp",
        ".ps1",
        ".jar",
        ".dll",
        ".cpl",
        ".hta",
        ".lnk",
        ".reg",
        ".scf",
    ]
)
_BLOCKED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-dosexec",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/javascript",
        "application/x-sh",
    }
)


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False

    @property
    def blocked(self) -> bool:
        extension = "." + self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""
        return extension in _BLOCKED_EXTENSIONS or self.content_type in _BLOCKED_TYPES


@dataclass
class ParsedEmail:
    message_id: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    subject: str = ""
    sent_at: datetime | None = None
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    text: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    # Lower-cased header names -> first value, for the auto-reply and loop checks.
    headers: dict[str, str] = field(default_factory=dict)
    return_path: str | None = None
    content_type: str = "text/plain"
    report_type: str = ""
    # Message-IDs named inside a delivery report (the message that bounced).
    reported_message_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def reply_text(self) -> str:
        return strip_quoted(self.text)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, most recent first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [ref for ref in reversed(self.references) if ref not in ids]
        return ids


# --- Small pieces ---------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Text safe to store anywhere: undecodable bytes repaired, no NULs or stray controls."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("utf-8", "surrogateescape"), "")
    value = value.replace("\x00", "")
    return "".join(
        ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text whose label may be wrong or unknown; never raises.

    A weak label (none, ASCII, Latin-1, Windows-1252) is tried as UTF-8 first,
    because mailers often send UTF-8 under it; Latin-1 is read as Windows-1252,
    its superset that every mail client actually means.
    """
    label = (charset or "").strip().strip('"').lower()
    if label in _WEAK_LABELS:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    try:
        return data.decode(label)
    except LookupError:
        pass
    except UnicodeDecodeError:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode(label, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def normalise_message_id(value: str) -> str:
    """'<abc@host>' -> 'abc@host'; '' when it is not a Message-ID."""
    value = clean_text(value or "").strip()
    match = _MSGID.search(value) or _BARE_MSGID.search(value)
    return match.group(1 if match.re is _MSGID else 0)[:298] if match else ""


def message_ids(value: str) -> list[str]:
    """Every Message-ID in a References-like header, in order, without duplicates."""
    found: list[str] = []
    for item in _MSGID.findall(clean_text(value or "")):
        if item not in found:
            found.append(item[:298])
    return found


def safe_filename(name: str, *, content_type: str, index: int) -> str:
    """A name safe to offer for download: no path, no controls, a sensible length."""
    name = clean_text(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f"<>:|?*;]', "", name).strip(" .")
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{extension}"
    if len(name) > 150:
        stem, dot, extension = name.rpartition(".")
        name = stem[:140] + dot + extension[:9] if dot and len(extension) < 10 else name[:150]
    return name


def strip_quoted(text: str) -> str:
    """The new part of a reply: the quoted earlier message removed where clearly marked.

    Returns the whole text when stripping would leave nothing (a reply that is
    only a quote, or a message that starts with a forward).
    """
    lines = text.split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        pair = line + " " + lines[index + 1] if index + 1 < len(lines) else line
        if any(p.match(line) for p in _QUOTE_STARTS) or (
            index > 0 and _QUOTE_STARTS[0].match(pair) and not line.rstrip().endswith(".")
        ):
            cut = index
            break
        if (
            _OUTLOOK_HEADER.match(line)
            and index + 1 < len(lines)
            and _OUTLOOK_NEXT.match(lines[index + 1])
        ):
            cut = index
            break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    result = "\n".join(kept).strip()
    return result or text.strip()


# --- Headers -----------------------------------------------------------------------------


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the policy cannot parse: read it raw
        value = None
        for key, raw in msg.raw_items() if isinstance(msg, EmailMessage) else []:
            if key.lower() == name.lower():
                value = raw
                break
    if value is None:
        return ""
    try:
        return clean_text(str(value))
    except Exception:
        return ""


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs; addresses lower-cased, junk dropped."""
    pairs: list[tuple[str, str]] = []
    try:
        header = msg.get(name)
        if header is None:
            return []
        addresses = getattr(header, "addresses", None)
        if addresses is None:
            items = getaddresses([_header(msg, name)])
        else:
            items = [(a.display_name, a.addr_spec) for a in addresses]
    except Exception:  # fall back to the lenient parser
        items = getaddresses([_header(msg, name)])
    for display, address in items:
        address = clean_text(address or "").strip().strip("<>").lower()
        if "@" in address and " " not in address and len(address) <= 254:
            pairs.append((clean_text(display or "").strip()[:200], address))
    return pairs


def _date(msg: Message) -> datetime | None:
    raw = _header(msg, "date")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # A sender's clock can say anything; a date no database column can hold
    # (year 9999 minus twelve hours overflows in UTC) is no date at all.
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if not 1900 <= value.year <= 2200:
        return None
    return value


# --- Bodies --------------------------------------------------------------------------------


def _part_text(part: Message, problems: list[str]) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        problems.append(f"a text part could not be decoded ({exc})")
        return ""
    if not isinstance(data, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return clean_text(decode_bytes(data, charset))


def _walk(part: Message, parsed: ParsedEmail, plains: list[str], htmls: list[str]) -> None:
    ctype = part.get_content_type()
    if ctype == "multipart/report":
        parsed.report_type = (part.get_param("report-type") or "").lower()  # type: ignore[union-attr]
    if part.is_multipart() and ctype.startswith("multipart/"):
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            if isinstance(child, Message):
                _walk(child, parsed, plains, htmls)
        return
    try:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
    except Exception:
        disposition, filename = "attachment", None
    if ctype in ("message/rfc822", "text/rfc822-headers", "message/delivery-status"):
        _reported(part, parsed)
        if parsed.report_type == "delivery-status":
            return
    if disposition != "attachment" and not filename:
        if ctype == "text/plain":
            plains.append(_part_text(part, parsed.problems))
            return
        if ctype == "text/html":
            htmls.append(_part_text(part, parsed.problems))
            return
    if ctype == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        data = inner.as_bytes() if isinstance(inner, Message) else b""
        filename = filename or "message.eml"
    else:
        try:
            decoded = part.get_payload(decode=True)
        except Exception:
            decoded = None
            parsed.problems.append(f"attachment {filename or ctype} could not be decoded")
        data = decoded if isinstance(decoded, bytes) else b""
    index = len(parsed.attachments) + 1
    parsed.attachments.append(
        ParsedAttachment(
            filename=safe_filename(filename or "", content_type=ctype, index=index),
            content_type=ctype[:200],
            data=data,
            inline=disposition == "inline",
        )
    )


def _reported(part: Message, parsed: ParsedEmail) -> None:
    """Collect the Message-ID of the returned message in a delivery report."""
    try:
        payload = part.get_payload()
        if isinstance(payload, list):
            text = "\n".join(p.as_string() for p in payload if isinstance(p, Message))
        else:
            raw = part.get_payload(decode=True)
            text = decode_bytes(raw, "utf-8") if isinstance(raw, bytes) else str(payload)
    except Exception:
        return
    for match in re.finditer(r"^message-id:\s*(<[^>]+>)", text, re.IGNORECASE | re.MULTILINE):
        found = normalise_message_id(match.group(1))
        if found and found not in parsed.reported_message_ids:
            parsed.reported_message_ids.append(found)


# --- Entry points ------------------------------------------------------------------------


def parse_headers(raw: bytes) -> ParsedEmail:
    """Only the headers (for a message too big to read whole)."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    head = raw[: end if end >= 0 else 64 * 1024][: 256 * 1024]
    return parse_email(head + b"\n\n")


def parse_email(raw: bytes) -> ParsedEmail:
    parsed = ParsedEmail()
    try:
        msg: Any = email.message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the stdlib parser almost never raises
        parsed.problems.append(f"the message could not be parsed ({exc})")
        return parsed
    try:
        _fill(msg, parsed)
    except Exception as exc:  # keep what was read before the failure
        parsed.problems.append(f"the message could not be read completely ({exc})")
    return parsed


def _fill(msg: Any, parsed: ParsedEmail) -> None:
    for key in msg:
        lowered = key.lower()
        if lowered not in parsed.headers:
            parsed.headers[lowered] = _header(msg, key)
    parsed.message_id = normalise_message_id(_header(msg, "message-id"))
    senders = _addresses(msg, "from")
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    parsed.to = [address for _, address in _addresses(msg, "to")]
    parsed.cc = [address for _, address in _addresses(msg, "cc")]
    parsed.delivered_to = [
        address
        for name in ("delivered-to", "x-original-to", "envelope-to")
        for _, address in _addresses(msg, name)
    ]
    parsed.subject = " ".join(_header(msg, "subject").split())[:300]
    parsed.sent_at = _date(msg)
    parsed.in_reply_to = normalise_message_id(_header(msg, "in-reply-to"))
    parsed.references = message_ids(_header(msg, "references"))[-50:]
    if "return-path" in parsed.headers:
        parsed.return_path = parsed.headers["return-path"].strip().strip("<>").strip()
    try:
        parsed.content_type = msg.get_content_type()
    except Exception:
        parsed.content_type = "text/plain"
    plains: list[str] = []
    htmls: list[str] = []
    _walk(msg, parsed, plains, htmls)
    if any(text.strip() for text in plains):
        parsed.text = "\n\n".join(text.strip() for text in plains if text.strip())
    elif htmls:
        parsed.text = "\n\n".join(html_to_text(html) for html in htmls).strip()
    parsed.text = parsed.text.replace("\r\n", "\n").replace("\r", "\n")
    if not msg.keys():
        parsed.problems.append("no headers could be read")


# --- What kind of mail it is -----------------------------------------------------------------


def auto_kind(parsed: ParsedEmail) -> tuple[str, str] | None:
    """('bounce' | 'auto_reply', reason) when no person wrote this message, else None."""
    headers = parsed.headers
    local = parsed.from_address.split("@", 1)[0]
    if parsed.content_type == "multipart/report" and parsed.report_type == "delivery-status":
        return "bounce", "delivery status report (bounce)"
    if local in _BOUNCE_SENDERS:
        return "bounce", f"sent by {parsed.from_address} (mail system)"
    if parsed.return_path is not None and parsed.return_path == "":
        return "bounce", "empty Return-Path <> (mail system message)"
    submitted = headers.get("auto-submitted", "").strip().lower()
    if submitted and submitted != "no":
        return "auto_reply", f"Auto-Submitted: {submitted}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if name in headers:
            return "auto_reply", f"{name} header"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "auto_reply", "list"):
        return "auto_reply", f"Precedence: {precedence}"
    if _OUT_OF_OFFICE.match(parsed.subject):
        return "auto_reply", f"out-of-office subject: {parsed.subject[:80]}"
    return None
