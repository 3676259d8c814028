"""Synthetic inbound mail with the quirks real mail has, for tests and the intake benchmark.

`corpus_messages(n, seed)` yields `n` distinct raw messages (unique
Message-IDs and senders cycling over a small population, so some threads
repeat a customer), deterministic for a seed. The bodies are excerpts of real
consumer complaints (CFPB public narratives).
"""

from __future__ import annotations

import base64
import quopri
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime

COMPLAINTS = [
    "Contacted 6 times regarding incorrect reporting. I have never received verification of "
    "account. Disputes just marked as closed without verification or correct updating.",
    "I tried talking to the company and explained to them that this accounts are fraud. I "
    "provided all paperwork and no one is doing anything.",
    "I have recently been harassed and called by multiple debt collectors in an attempt to "
    "retrieve payment for a debt that I have never had prior knowledge of.",
    "I monitor my credit report, more frequently now as we're attempting to buy our first "
    "house. A collection notice was filed for the amount of $3900.00. We have received no "
    "notification of this debt.",
    "They have failed to remove information that was affiliated with personal information "
    "that was challenged in the past. I strongly believe they are outright refusing to "
    "uphold the law.",
    "I was charged twice for the same order and the refund I was promised on the phone "
    "never arrived. Every time I call I get a different answer.",
]
NAMES = [
    ("Dana Whitfield", "dana.whitfield"),
    ("José Müller", "jose.mueller"),
    ("Zoë O'Brien", "zoe.obrien"),
    ("Søren Åberg", "soren.aberg"),
    ("Renée Lefèvre", "renee.lefevre"),
    ("山田 太郎", "taro.yamada"),
    ("Chad Patterson", "chad.patterson"),
    ("Amira Haddad", "amira.haddad"),
]
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0>>"
    b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
TO = "Care Team <care@example.com>"


class _Ctx:
    def __init__(self, rng: random.Random, index: int, seed: int):
        self.rng = rng
        self.index = index
        name, local = rng.choice(NAMES)
        self.name = name
        self.address = f"{local}{index % 97}@example.org"
        self.complaint = rng.choice(COMPLAINTS)
        self.message_id = f"<corpus.{seed}.{index}.{rng.getrandbits(40):x}@mail.example.org>"
        when = datetime(2024, 5, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=index)
        self.date = format_datetime(when)

    def sender(self, charset: str = "utf-8") -> str:
        return f"{Header(self.name, charset).encode()} <{self.address}>"

    def head(self, subject: str, *, extra: str = "", message_id: bool = True) -> str:
        lines = [
            f"From: {self.sender()}",
            f"To: {TO}",
            f"Subject: {subject}",
            f"Date: {self.date}",
            "MIME-Version: 1.0",
        ]
        if message_id:
            lines.append(f"Message-ID: {self.message_id}")
        if extra:
            lines.append(extra.rstrip("\r\n"))
        return "\r\n".join(lines) + "\r\n"


def _plain(c: _Ctx) -> bytes:
    return (
        c.head("Complaint about my account")
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + c.complaint
        + f"\r\n\r\n{c.name}\r\n"
    ).encode()


def _html_only(c: _Ctx) -> bytes:
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        f"<p>Hello,</p><p>{c.complaint}</p><p>See <a href='https://example.org/order/"
        f"{c.index}'>my order</a> &amp; fix it.</p></body></html>"
    )
    return (
        c.head("Problem with my order (web mail)")
        + "Content-Type: text/html; charset=utf-8\r\n\r\n"
        + html
    ).encode()


def _latin1(c: _Ctx) -> bytes:
    body = f"Très déçu : {c.complaint} Où est mon remboursement ?"
    return c.head("Réclamation").encode() + (
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body.encode("latin-1")
    )


def _cp1252(c: _Ctx) -> bytes:
    body = f"\u201cUnacceptable\u201d \u2013 {c.complaint} \u20ac40 fee charged\u2026"
    return c.head("Fee charged twice").encode() + (
        b"Content-Type: text/plain; charset=windows-1252\r\n\r\n" + body.encode("cp1252")
    )


def _encoded_subjects(c: _Ctx) -> bytes:
    subject = Header("注文が届きません: order missing", "iso-2022-jp").encode()
    if c.rng.random() < 0.5:
        subject = Header("Ärger mit der Rückerstattung ✉", "utf-8").encode()
    return (
        c.head(subject)
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + c.complaint
    ).encode()


def _mislabelled(c: _Ctx) -> bytes:
    # Declared us-ascii, really UTF-8; and a charset no codec knows.
    label = c.rng.choice(["us-ascii", "x-unknown-8bit", "utf-8-bogus"])
    body = f"Naïve billing — {c.complaint} Still waiting, señor."
    return c.head("Billing problem").encode() + (
        f"Content-Type: text/plain; charset={label}\r\n\r\n".encode() + body.encode("utf-8")
    )


def _quoted_printable(c: _Ctx) -> bytes:
    body = (f"{c.complaint} " * 3 + "Prix: 40 €.").encode()
    encoded = quopri.encodestring(body)
    return c.head("Long story, soft line breaks").encode() + (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded
    )


def _base64_text(c: _Ctx) -> bytes:
    encoded = base64.encodebytes(c.complaint.encode()).replace(b"\n", b"\r\n")
    return c.head("Encoded complaint").encode() + (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded
    )


def _with_pdf(c: _Ctx) -> bytes:
    boundary = f"=_b{c.index}"
    pdf = base64.encodebytes(PDF).decode().replace("\n", "\r\n")
    return (
        c.head("Receipt attached", extra=f'Content-Type: multipart/mixed; boundary="{boundary}"')
        + f"\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{c.complaint}\r\n"
        + f"--{boundary}\r\nContent-Type: application/pdf; name=receipt.pdf\r\n"
        + 'Content-Disposition: attachment; filename="../../receipt.pdf"\r\n'
        + f"Content-Transfer-Encoding: base64\r\n\r\n{pdf}--{boundary}--\r\n"
    ).encode()


def _outlook_related(c: _Ctx) -> bytes:
    outer, inner = f"=_o{c.index}", f"=_r{c.index}"
    png = base64.encodebytes(PNG).decode().replace("\n", "\r\n")
    return (
        c.head("Broken delivery", extra=f'Content-Type: multipart/related; boundary="{outer}"')
        + f'\r\n--{outer}\r\nContent-Type: multipart/alternative; boundary="{inner}"\r\n\r\n'
        + f"--{inner}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{c.complaint}\r\n"
        + f"--{inner}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + f"<p>{c.complaint}</p><img src='cid:image001.png@01'>\r\n--{inner}--\r\n"
        + f"--{outer}\r\nContent-Type: image/png; name=image001.png\r\n"
        + "Content-ID: <image001.png@01>\r\nContent-Disposition: inline; filename=image001.png\r\n"
        + f"Content-Transfer-Encoding: base64\r\n\r\n{png}--{outer}--\r\n"
    ).encode()


def _out_of_office(c: _Ctx) -> bytes:
    return (
        c.head(
            "Automatic reply: Your case",
            extra="Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All",
        )
        + "Content-Type: text/plain; charset=utf-8\r\n\r\nI am out of the office until Monday.\r\n"
    ).encode()


def _bounce(c: _Ctx) -> bytes:
    boundary = f"=_dsn{c.index}"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {TO}\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: {c.date}\r\n"
        f"Message-ID: {c.message_id}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"'
        f"\r\n\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; {c.address}\r\n"
        f"Action: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: care@example.com\r\nTo: {c.address}\r\n"
        f"Message-ID: <sent{c.index}@example.com>\r\nSubject: [BB-00001] We're sorry\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()


def _no_message_id(c: _Ctx) -> bytes:
    return (
        c.head("No message id here", message_id=False)
        + f"Content-Type: text/plain; charset=utf-8\r\n\r\n{c.complaint} (ref {c.index})\r\n"
    ).encode()


def _quoted_reply(c: _Ctx) -> bytes:
    return (
        c.head("Re: Your complaint")
        + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + "That is still not fixed, please call me.\r\n\r\n"
        + "On Mon, 6 May 2024 at 10:02, Care Team <care@example.com> wrote:\r\n"
        + "> We are sorry about the delay.\r\n> We will call you tomorrow.\r\n"
    ).encode()


def _no_from(c: _Ctx) -> bytes:
    return (
        f"To: {TO}\r\nSubject: who am I\r\nDate: {c.date}\r\nMessage-ID: {c.message_id}\r\n\r\n"
        f"{c.complaint}\r\n"
    ).encode()


def _garbage(c: _Ctx) -> bytes:
    return bytes(c.rng.getrandbits(8) for _ in range(200 + c.index % 50)) + str(c.index).encode()


# Weighted towards ordinary mail, as a real mailbox is.
KINDS: list[tuple[str, Callable[[_Ctx], bytes], int]] = [
    ("plain", _plain, 8),
    ("html_only", _html_only, 3),
    ("latin1", _latin1, 2),
    ("cp1252", _cp1252, 2),
    ("encoded_subject", _encoded_subjects, 2),
    ("mislabelled", _mislabelled, 2),
    ("quoted_printable", _quoted_printable, 2),
    ("base64_text", _base64_text, 1),
    ("pdf_attachment", _with_pdf, 2),
    ("outlook_related", _outlook_related, 2),
    ("out_of_office", _out_of_office, 1),
    ("bounce", _bounce, 1),
    ("no_message_id", _no_message_id, 1),
    ("quoted_reply", _quoted_reply, 2),
    ("no_from", _no_from, 1),
    ("garbage", _garbage, 1),
]


def corpus_messages(n: int, seed: int = 0) -> Iterator[bytes]:
    """`n` raw messages mixing everything in KINDS; the same seed gives the same bytes."""
    for _, message in corpus_labelled(n, seed):
        yield message


def corpus_labelled(n: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    weights = [weight for _, _, weight in KINDS]
    for index in range(n):
        # Every kind once first, so even a small corpus has every quirk.
        chosen = KINDS[index] if index < len(KINDS) else rng.choices(KINDS, weights=weights)[0]
        label, build, _ = chosen
        yield label, build(_Ctx(rng, index, seed))
