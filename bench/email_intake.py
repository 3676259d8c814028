"""Email intake throughput: messages per second parsed, stored and filed.

For each database (SQLite in a temporary data directory, PostgreSQL in a fresh
database `bounceback_bench_mail` that this run drops, creates and drops), in a
child process that loads Django against it:

  0. migrate; build the messages (not timed): half from the intake corpus
     (bounceback.mail.corpus: HTML-only, Latin-1 and cp1252, encoded headers,
     quoted-printable and base64 bodies, PDF attachments, Outlook related
     parts, auto-replies, bounces, replies, no Message-ID, no From, garbage),
     half real complaint texts from ../shared/data/real/ (CFPB narratives and
     negative airline tweets) sent as plain or HTML mail by distinct senders,
     a quarter of them replies to an earlier message.
  1. baseline  the same bytes parsed by the stdlib parser alone
               (email.message_from_bytes, policy.default, sender, subject and
               the text or HTML body) and inserted as plain rows into a bare
               bench table, one transaction per message, as intake commits.
  2. intake    email_receive(raw=..., source="bench") for every message:
               parse, dedupe, thread, find or create the customer, open or
               join the case, write the interaction and attachments.
  3. again     the first BENCH_MAIL_REPEAT messages delivered again (the
               dedupe path a re-polled mailbox or a retrying MTA takes).
  4. smtp      BENCH_MAIL_SMTP fresh corpus messages sent with smtplib over one
               connection to the real receiver (bounceback.mail.smtpd on a free
               port in the child), each answered only after it is stored.

usage: .venv/bin/python bench/email_intake.py [--quick] [--sqlite-only | --postgres-only]
                                              [--results-dir DIR]

Sizes are environment variables: BENCH_MAIL_MESSAGES (default 1000, --quick
100), BENCH_MAIL_REPEAT (300, --quick 20), BENCH_MAIL_SMTP (200, --quick 20),
BENCH_PG_ADMIN_URL, BENCH_MAIL_PG_DB, BENCH_KEEP=1 to keep the data.
"""

from __future__ import annotations

import csv
import json
import random
import sys
import time
from typing import Any

import harness
from harness import PY, REPO, Config, fmt, log

REAL = REPO.parent / "shared" / "data" / "real"

# name: (default, --quick default, help)
CONFIG: harness.ConfigTable = {
    "BENCH_MAIL_MESSAGES": ("1000", "100", "messages through intake (half corpus, half real)"),
    "BENCH_MAIL_REPEAT": ("300", "20", "messages delivered a second time"),
    "BENCH_MAIL_SMTP": ("200", "20", "messages sent through the SMTP receiver"),
    **harness.database_settings("BENCH_MAIL_PG_DB", "bounceback_bench_mail"),
}


# ---------------------------------------------------------------- the messages


def real_texts(limit: int) -> list[str]:
    """Complaint narratives and negative tweets, in file order (deterministic)."""
    texts: list[str] = []
    csv.field_size_limit(10_000_000)
    complaints = REAL / "cfpb_complaints_2019_sample.csv"
    tweets = REAL / "airline_tweets_2015.csv"
    if complaints.exists():
        with complaints.open(newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                text = (row.get("Consumer complaint narrative") or "").strip()
                if len(text) > 40:
                    texts.append(text)
                if len(texts) >= limit // 2:
                    break
    if tweets.exists():
        with tweets.open(newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                if row.get("airline_sentiment") == "negative" and row.get("text"):
                    texts.append(row["text"].strip())
                if len(texts) >= limit:
                    break
    if not texts:
        raise SystemExit(f"no real complaint texts under {REAL}")
    while len(texts) < limit:
        texts.extend(texts[: limit - len(texts)])
    return texts[:limit]


def real_messages(count: int, seed: int) -> list[bytes]:
    """Plain or HTML mail carrying real complaint texts; some replies to earlier ones."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from django.utils import timezone

    rng = random.Random(seed)
    messages: list[bytes] = []
    sent: list[tuple[str, str, str]] = []  # (sender, subject, message id)
    for index, text in enumerate(real_texts(count)):
        message = EmailMessage()
        if sent and rng.random() < 0.25:
            sender, subject, parent = rng.choice(sent)
            message["Subject"] = f"Re: {subject}"
            message["In-Reply-To"] = parent
            message["References"] = parent
        else:
            sender = f"Customer {index} <customer{index}.{seed}@example.net>"
            subject = " ".join(text.split()[:8])[:120] or "Complaint"
            message["Subject"] = subject
        message_id = make_msgid(idstring=f"bench{seed}.{index}", domain="mail.example.net")
        message["From"] = sender
        message["To"] = "Care Team <care@example.com>"
        message["Date"] = format_datetime(timezone.now())
        message["Message-ID"] = message_id
        message.set_content(text)
        if index % 3 == 0:
            paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
            message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        messages.append(message.as_bytes())
        if "In-Reply-To" not in message:
            sent.append((sender, str(message["Subject"]), message_id))
    return messages


def build_messages(total: int, seed: int) -> list[bytes]:
    from bounceback.mail.corpus import corpus_messages

    corpus = list(corpus_messages(total - total // 2, seed=seed))
    real = real_messages(total // 2, seed=seed)
    mixed = corpus + real
    random.Random(seed).shuffle(mixed)
    return mixed


# ---------------------------------------------------------------- the child: Django in-process


def _stdlib_fields(raw: bytes) -> tuple[str, str, str, str]:
    """What a bare parser gets: Message-ID, sender, subject and a text body."""
    import email
    from email import policy

    message = email.message_from_bytes(raw, policy=policy.default)
    try:
        body_part = message.get_body(preferencelist=("plain", "html"))
        body = body_part.get_content() if body_part is not None else ""
    except (LookupError, ValueError, AttributeError):
        body = ""
    try:
        sender = str(message.get("From", ""))
        subject = str(message.get("Subject", ""))
        message_id = str(message.get("Message-ID", ""))
    except (ValueError, IndexError, AttributeError):
        sender = subject = message_id = ""
    # PostgreSQL text cannot hold NUL; intake drops it too.
    fields = (message_id[:300], sender[:320], subject[:300], body)
    return tuple(value.replace("\x00", "") for value in fields)  # type: ignore[return-value]


def baseline(messages: list[bytes]) -> float:
    from django.db import connection, transaction

    blob = "BYTEA" if connection.vendor == "postgresql" else "BLOB"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_mail_plain (id INTEGER PRIMARY KEY, message_id VARCHAR(300), "
            f"from_address VARCHAR(320), subject VARCHAR(300), body TEXT, raw {blob})"
        )
    started = time.perf_counter()
    for index, raw in enumerate(messages):
        fields = _stdlib_fields(raw)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_mail_plain VALUES (%s, %s, %s, %s, %s, %s)",
                [index + 1, *fields, raw],
            )
    return time.perf_counter() - started


def smtp_phase(count: int, seed: int) -> dict[str, Any]:
    import smtplib
    import socket

    from bounceback.mail.corpus import corpus_messages
    from bounceback.mail.models import InboundEmail
    from bounceback.mail.smtpd import IntakeServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    messages = list(corpus_messages(count, seed=seed))
    server = IntakeServer(host="127.0.0.1", port=port, domains=[])
    server.start()
    refused = 0
    try:
        before = InboundEmail.objects.filter(source="smtp").count()
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            for raw in messages:
                try:
                    client.sendmail("sender@example.org", ["care@example.com"], raw)
                except smtplib.SMTPException:
                    refused += 1
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    stored = InboundEmail.objects.filter(source="smtp").count() - before
    return {
        "smtp_sent": count,
        "smtp_s": round(seconds, 3),
        "smtp_stored": stored,
        "smtp_refused": refused,
    }


def child(total: int, repeat: int, smtp: int) -> dict[str, Any]:
    harness.setup_django(migrate=True)
    from django.db import connection
    from django.db.models import Count

    from bounceback.cases.models import Case
    from bounceback.mail.models import InboundEmail
    from bounceback.mail.services import email_receive

    messages = build_messages(total, seed=1)
    size = sum(len(raw) for raw in messages)
    log(f"{connection.vendor}: {len(messages)} messages, {size / 1e6:.1f} MB built")

    with harness.Phase(f"{connection.vendor} baseline") as base_phase:
        base_s = baseline(messages)
    log(f"{connection.vendor}: baseline {len(messages) / base_s:.0f} msgs/s")

    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with harness.Phase(f"{connection.vendor} intake") as intake_phase:
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            for raw in messages:
                email_receive(raw=raw, source="bench")
        intake_s = time.perf_counter() - started
    stored = InboundEmail.objects.count()
    states = dict(
        InboundEmail.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    cases = Case.objects.count()
    rate = len(messages) / intake_s
    log(f"{connection.vendor}: intake {rate:.0f} msgs/s ({states}, {cases} cases)")

    again = messages[:repeat]
    with harness.Phase(f"{connection.vendor} again"):
        started = time.perf_counter()
        for raw in again:
            email_receive(raw=raw, source="bench")
        again_s = time.perf_counter() - started
    duplicates_stored = InboundEmail.objects.count() - stored

    with harness.Phase(f"{connection.vendor} smtp"):
        smtp_result = smtp_phase(smtp, seed=2) if smtp else {}
    if smtp_result:
        log(f"{connection.vendor}: smtp {smtp / smtp_result['smtp_s']:.0f} msgs/s")
    return {
        "vendor": connection.vendor,
        "messages": len(messages),
        "megabytes": round(size / 1e6, 2),
        "baseline_s": round(base_s, 3),
        "intake_s": round(intake_s, 3),
        "queries_per_message": round(queries / len(messages), 1),
        "warnings": {
            "baseline": base_phase.warning,
            "intake": intake_phase.warning,
        },
        "contaminated": harness.contaminated(),
        "stored": stored,
        "states": states,
        "cases": cases,
        "repeat": len(again),
        "repeat_s": round(again_s, 3),
        "repeat_stored": duplicates_stored,
        **smtp_result,
    }


# ---------------------------------------------------------------- the parent


def run_database(kind: str, cfg: Config, run: harness.Run) -> dict[str, Any]:
    # Tasks enqueued on commit are written as rows and never run: this measures intake.
    db = harness.Database(
        kind, cfg, run.workdir, pg_db=cfg.str("BENCH_MAIL_PG_DB"), backend="database"
    )
    log(f"{kind}: {cfg.str('BENCH_MAIL_MESSAGES')} messages")
    with db:
        sizes = ("BENCH_MAIL_MESSAGES", "BENCH_MAIL_REPEAT", "BENCH_MAIL_SMTP")
        cmd = [PY, __file__, "--child", *(cfg.str(name) for name in sizes)]
        return harness.run_json(cmd, db.env, 3600, f"{kind} email intake bench", echo=True)


def report(results: list[dict[str, Any]]) -> tuple[str, bool]:
    lines = [
        "",
        "Email intake: messages parsed, stored and filed (one transaction per message)",
        f"{'database':<12}{'messages':>9}{'intake/s':>10}{'ms/msg':>8}{'baseline/s':>12}"
        f"{'x base':>8}{'again/s':>9}{'smtp/s':>8}{'queries/msg':>13}",
    ]
    ok = True
    for r in results:
        intake = r["messages"] / r["intake_s"]
        base = r["messages"] / r["baseline_s"]
        again = r["repeat"] / r["repeat_s"] if r["repeat_s"] else 0.0
        smtp = r["smtp_sent"] / r["smtp_s"] if r.get("smtp_s") else 0.0
        r["intake_per_s"], r["baseline_per_s"] = round(intake, 1), round(base, 1)
        r["ratio"] = round(base / intake, 2)
        lines.append(
            f"{r['vendor']:<12}{r['messages']:>9}{intake:>10.0f}{1000 / intake:>8.1f}{base:>12.0f}"
            f"{base / intake:>8.1f}{again:>9.0f}{smtp:>8.0f}"
            f"{fmt(r.get('queries_per_message'), 1):>13}  (goal x base <= 4: "
            + ("met" if base / intake <= 4 else "NOT met")
            + ")"
        )
    lines.append(
        "baseline = stdlib parse (sender, subject, body) + one plain INSERT and COMMIT per "
        "message; x base = how many times slower intake is"
    )
    for r in results:
        lines.append(
            f"{r['vendor']}: {r['megabytes']} MB; states {r['states']}; {r['cases']} cases; "
            f"{r['repeat']} delivered again -> {r['repeat_stored']} new rows"
            + (
                f"; smtp {r['smtp_stored']} of {r['smtp_sent']} stored, {r['smtp_refused']} refused"
                if "smtp_sent" in r
                else ""
            )
        )
        for line in r.get("contaminated") or []:
            lines.append(f"  {line}")
        if r["repeat_stored"] or (r.get("smtp_refused") or 0):
            ok = False
            lines.append(f"ERROR {r['vendor']}: a repeat was stored again or smtp refused mail")
    return "\n".join(lines), ok


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
        return 0
    parser = harness.parser(__doc__.split("\n")[0])
    harness.add_outputs(parser, strict=None)
    args = parser.parse_args()
    cfg = Config(args.quick, CONFIG)
    with harness.Run("email-intake", results_dir=args.results_dir, keep=cfg.keep) as run:
        results = [run_database(kind, cfg, run) for kind in harness.databases(args)]
    text, ok = report(results)
    print(text)
    run.save(harness.summary(cfg, args.quick, results, ok=ok))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
