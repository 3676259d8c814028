"""Reading a mailbox over IMAP: the polling way email comes in.

`imap_poll` reads the messages that arrived since the last poll and hands
each one to `email_receive`. What has been read is remembered in a
`MailboxCursor` row (the folder's UIDVALIDITY and the highest UID stored), so
a message is read once however often the poll runs. Rules it keeps:

- The cursor moves past a message only in the transaction that stored it: a
  crash or a dropped connection mid-batch re-reads at most the messages that
  were not stored yet.
- A changed UIDVALIDITY (the folder was recreated, or the server rebuilt its
  index) means every old UID is meaningless: the folder is read again from the
  start, and `email_receive`'s dedupe keeps what was already stored from being
  stored twice.
- Messages are fetched with BODY.PEEK[] and flagged \\Seen only once stored, so
  a person looking at the mailbox in a mail client sees what intake has taken.
- One poller per mailbox at a time: the claim is a PostgreSQL session advisory
  lock, or a file lock next to the SQLite database. Both are released by the
  operating system or the database when a worker dies, so a crash never leaves
  a mailbox claimed.
- A refused login, an unreachable server or a broken connection is logged and
  recorded in the cursor's `last_error`; it never raises into the worker.
"""

from __future__ import annotations

import fcntl
import hashlib
import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from bounceback.mail.models import InboundEmail, MailboxCursor

logger = logging.getLogger(__name__)

SECURITY_CHOICES = ("ssl", "starttls", "plain")
# Messages per FETCH: big enough to amortise the round trip, small enough that a
# batch of large messages does not hold hundreds of megabytes at once.
FETCH_BATCH = 20
FETCH_BATCH_BYTES = 32 * 1024 * 1024
TIMEOUT_SECONDS = 30
SOURCE = "imap"

_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class ImapFailure(Exception):
    """Anything that stops a poll: the message is what `last_error` shows a person."""


@dataclass(frozen=True)
class ImapMailbox:
    host: str
    user: str
    password: str
    security: str = "ssl"
    port: int = 0
    folder: str = "INBOX"
    tls_verify: bool = True
    ca_file: str = ""

    def __post_init__(self) -> None:
        if self.security not in SECURITY_CHOICES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_CHOICES)}")
        if not self.port:
            object.__setattr__(self, "port", 993 if self.security == "ssl" else 143)

    @property
    def name(self) -> str:
        """The cursor's key: another host, user or folder is another mailbox."""
        return f"imap://{self.user}@{self.host}:{self.port}/{self.folder}"[:300]

    @classmethod
    def from_settings(cls) -> ImapMailbox | None:
        """The configured mailbox, or None when BOUNCEBACK_IMAP_HOST is empty (polling off)."""
        if not settings.BOUNCEBACK_IMAP_HOST:
            return None
        return cls(
            host=settings.BOUNCEBACK_IMAP_HOST,
            port=settings.BOUNCEBACK_IMAP_PORT,
            security=settings.BOUNCEBACK_IMAP_SECURITY,
            user=settings.BOUNCEBACK_IMAP_USER,
            password=settings.BOUNCEBACK_IMAP_PASSWORD,
            folder=settings.BOUNCEBACK_IMAP_FOLDER,
            tls_verify=settings.BOUNCEBACK_IMAP_TLS_VERIFY,
            ca_file=settings.BOUNCEBACK_IMAP_CA_FILE,
        )


@dataclass
class PollResult:
    mailbox: str
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    held: int = 0
    # Messages that could not be stored at all (logged; left unread in the mailbox).
    failed: int = 0
    # True when the limit stopped the poll with messages still waiting.
    more: bool = False
    # True when another worker was polling this mailbox: nothing was read.
    busy: bool = False
    error: str = ""
    email_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        if self.busy:
            return f"{self.mailbox}: another worker is polling this mailbox; nothing read"
        text = (
            f"{self.mailbox}: {self.read} read, {self.stored} stored, "
            f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''}, {self.held} held"
        )
        if self.failed:
            text += f", {self.failed} could not be stored (see the log)"
        if self.more:
            text += " (more waiting)"
        return text


# Long on purpose: one IMAP session from login to logout; its cursor, \Seen flags and
# counters must stay in step, so the steps are not split over helpers.
def imap_poll(*, mailbox: ImapMailbox | None = None, limit: int = 500) -> PollResult:
    """Read up to `limit` new messages from the mailbox (the configured one by default).

    Never raises for a mail server problem: the result's `error` says what went
    wrong, and the cursor's `last_error` keeps it for the staff pages.
    """
    from bounceback.mail.services import email_receive

    mailbox = mailbox or ImapMailbox.from_settings()
    if mailbox is None:
        return PollResult(
            mailbox="imap", error="IMAP polling is off: BOUNCEBACK_IMAP_HOST is empty"
        )
    result = PollResult(mailbox=mailbox.name)
    with _claimed(mailbox.name) as claimed:
        if not claimed:
            result.busy = True
            return result
        cursor, _ = MailboxCursor.objects.get_or_create(name=mailbox.name)
        conn: imaplib.IMAP4 | None = None
        try:
            conn = _connect(mailbox)
            uidvalidity = _select(conn, mailbox)
            if cursor.uidvalidity != uidvalidity:
                if cursor.uidvalidity is not None:
                    logger.warning(
                        "imap: %s UIDVALIDITY changed from %s to %s; reading the folder again",
                        mailbox.name,
                        cursor.uidvalidity,
                        uidvalidity,
                    )
                cursor.uidvalidity = uidvalidity
                cursor.last_uid = 0
                cursor.save(update_fields=["uidvalidity", "last_uid"])
            waiting = _new_uids(conn, after=cursor.last_uid)
            result.more = len(waiting) > limit
            for batch in _batches(conn, waiting[:limit]):
                stored_uids = []
                for uid, raw in _fetch(conn, batch):
                    result.read += 1
                    received_at = timezone.now()
                    try:
                        with transaction.atomic():
                            email = email_receive(raw=raw, source=SOURCE, received_at=received_at)
                            cursor.last_uid = uid
                            cursor.save(update_fields=["last_uid"])
                    except DatabaseError:
                        raise
                    except Exception:
                        # email_receive keeps bad mail for a person; should one
                        # still fail, it must not stop every later message. It
                        # stays unread in the mailbox for someone to look at.
                        logger.exception("imap: %s UID %s could not be stored", mailbox.name, uid)
                        cursor.last_uid = uid
                        cursor.save(update_fields=["last_uid"])
                        result.failed += 1
                        continue
                    stored_uids.append(uid)
                    result.email_ids.append(email.pk)
                    # A message stored before comes back as the earlier row.
                    if email.received_at != received_at:
                        result.duplicates += 1
                    else:
                        result.stored += 1
                        if email.state == InboundEmail.State.HELD:
                            result.held += 1
                _mark_seen(conn, stored_uids)
        except ImapFailure as exc:
            result.error = str(exc)
        except (imaplib.IMAP4.error, OSError) as exc:
            # OSError covers refused connections, timeouts, DNS and TLS failures.
            result.error = f"{mailbox.host}:{mailbox.port}: {_describe(exc)}"
        finally:
            if conn is not None:
                with suppress(imaplib.IMAP4.error, OSError):
                    conn.logout()
        if result.error:
            logger.warning("imap: %s: %s", mailbox.name, result.error)
        cursor.last_polled_at = timezone.now()
        cursor.last_error = result.error
        cursor.save(update_fields=["last_polled_at", "last_error"])
    return result


# The clock asks on every tick (twice a second); a cursor read per tick would be
# wasted work, so each process remembers when the next poll can be due.
_next_check: dict[str, datetime] = {}


def imap_poll_due(*, now: datetime | None = None) -> int:
    """Enqueue a poll when the interval has passed since the last one; 1 if enqueued.

    Free when IMAP is off (a settings check), and one indexed read per poll
    interval when it is on.
    """
    mailbox = ImapMailbox.from_settings()
    if mailbox is None:
        return 0
    now = now or timezone.now()
    if now < _next_check.get(mailbox.name, now):
        return 0
    interval = timedelta(seconds=settings.BOUNCEBACK_IMAP_POLL_SECONDS)
    last = (
        MailboxCursor.objects.filter(name=mailbox.name)
        .values_list("last_polled_at", flat=True)
        .first()
    )
    if last is not None and last + interval > now:
        _next_check[mailbox.name] = last + interval
        return 0
    from bounceback.background.enqueue import enqueue_on_commit
    from bounceback.mail.tasks import poll_mailbox

    # Not again for a whole interval, even if the task has not run yet: a busy
    # queue must not fill up with polls of the same mailbox.
    _next_check[mailbox.name] = now + interval
    enqueue_on_commit(poll_mailbox)
    return 1


# ---------------------------------------------------------------- talking IMAP


def _tls_context(mailbox: ImapMailbox) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=mailbox.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ImapFailure(f"cannot read the CA file {mailbox.ca_file}: {_describe(exc)}") from None
    if not mailbox.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connect(mailbox: ImapMailbox) -> imaplib.IMAP4:
    if mailbox.security == "ssl":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailbox.host,
            mailbox.port,
            ssl_context=_tls_context(mailbox),
            timeout=TIMEOUT_SECONDS,
        )
    else:
        conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
        if mailbox.security == "starttls":
            try:
                conn.starttls(ssl_context=_tls_context(mailbox))
            except imaplib.IMAP4.error as exc:
                conn.shutdown()
                raise ImapFailure(
                    f"{mailbox.host}:{mailbox.port} refused STARTTLS: {_describe(exc)}"
                ) from None
    try:
        conn.login(mailbox.user, mailbox.password)
    except imaplib.IMAP4.error as exc:
        conn.shutdown()
        raise ImapFailure(
            f"login as {mailbox.user} refused by {mailbox.host}: {_describe(exc)}"
        ) from None
    return conn


def _select(conn: imaplib.IMAP4, mailbox: ImapMailbox) -> int:
    status, data = conn.select(_quoted(mailbox.folder))
    if status != "OK":
        raise ImapFailure(f"cannot open the folder {mailbox.folder!r}: {_text(data)}")
    _, values = conn.response("UIDVALIDITY")
    try:
        return int(values[0])  # type: ignore[index, arg-type]
    except (TypeError, ValueError, IndexError):
        raise ImapFailure(f"{mailbox.host} sent no UIDVALIDITY for {mailbox.folder!r}") from None


def _new_uids(conn: imaplib.IMAP4, *, after: int) -> list[int]:
    status, data = conn.uid("SEARCH", f"UID {after + 1}:*")
    if status != "OK":
        raise ImapFailure(f"UID SEARCH failed: {_text(data)}")
    # "n:*" always matches the highest UID, even when it is below n.
    return sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > after)


def _batches(conn: imaplib.IMAP4, uids: list[int]) -> Iterator[list[int]]:
    """Groups of UIDs to fetch together, by count and by announced size."""
    sizes = _sizes(conn, uids) if uids else {}
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= FETCH_BATCH or total + size > FETCH_BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def _sizes(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    status, data = conn.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)")
    if status != "OK":
        raise ImapFailure(f"FETCH of message sizes failed: {_text(data)}")
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes) and (uid := _UID.search(line)) and (size := _SIZE.search(line)):
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch(conn: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    """(uid, raw message) in UID order; a message deleted meanwhile is simply absent."""
    status, data = conn.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])")
    if status != "OK":
        raise ImapFailure(f"FETCH failed: {_text(data)}")
    found: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        head, raw = item
        # Servers may put UID before or after the literal; after means the next item.
        match = _UID.search(head)
        if match is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            match = _UID.search(data[index + 1])  # type: ignore[arg-type]
        if match is not None:
            found[int(match.group(1))] = raw
    wanted = set(uids)
    return sorted((uid, raw) for uid, raw in found.items() if uid in wanted)


def _mark_seen(conn: imaplib.IMAP4, uids: list[int]) -> None:
    if uids:
        # The flag is a courtesy to people reading the mailbox; the cursor is
        # what keeps a message from being read twice, so a refusal is not fatal.
        status, data = conn.uid("STORE", _uid_set(uids), "+FLAGS.SILENT", r"(\Seen)")
        if status != "OK":
            logger.warning("imap: could not flag %s as seen: %s", uids, _text(data))


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _quoted(folder: str) -> str:
    # imaplib sends arguments as they are; a folder name with a space needs quotes.
    if re.fullmatch(r"[A-Za-z0-9_./-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: object) -> str:
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith(("b'", 'b"')):
        # imaplib raises with the server's bytes repr: b'[AUTHENTICATIONFAILED] ...'
        text = text[2:-1]
    return text or exc.__class__.__name__


# ---------------------------------------------------------------- one poller per mailbox


@contextmanager
def _claimed(name: str, *, using: BaseDatabaseWrapper | None = None) -> Iterator[bool]:
    """Hold the mailbox for this poll; yields False when another process holds it."""
    db = using or connection
    digest = hashlib.sha256(f"imap-poll:{name}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            got = bool(cursor.fetchone()[0])  # type: ignore[index]
        try:
            yield got
        finally:
            if got:
                with db.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    # SQLite lives on one machine, so a lock file beside it is seen by every worker.
    path = Path(settings.DATA_DIR) / f"imap-poll-{key & 0xFFFFFFFF:08x}.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
