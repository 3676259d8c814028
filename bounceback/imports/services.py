"""CSV imports of customers, transactions, signals, complaints and conversations.

A file is checked as a whole first (readable, UTF-8 text, known columns); a
file that fails those checks is refused and nothing is stored. Then each row
stands alone: valid rows are stored, a rejected row changes nothing and is
reported with the physical line it starts on (the header is line 1; a quoted
cell spanning lines pushes the following rows down, as an editor shows them).

Transactions go through the bulk upsert in chunks, so a large file is fast and
importing the same file again updates the rows it stored instead of adding
them twice. Customers are matched by identity: a row whose external id or
email belongs to a stored customer updates that customer, adding identities
and tags but never removing any.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DataError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.customers.models import Channel, Customer, CustomerEmail, CustomerExternalId
from bounceback.customers.services import (
    ExternalIdentity,
    customer_create,
    customer_update,
    email_normalise,
    phone_normalise,
)
from bounceback.errors import Conflict, ServiceError, ValidationFailed
from bounceback.imports.dates import DateReader, date_reader_settle
from bounceback.imports.models import ImportRun
from bounceback.inputs import datetime_field, text_field
from bounceback.signals.services import FIELDS as SIGNAL_FIELDS
from bounceback.signals.services import signal_parse, signals_record_many
from bounceback.transactions.services import FIELDS as TRANSACTION_FIELDS
from bounceback.transactions.services import transaction_parse, transactions_upsert

Kind = ImportRun.Kind
Progress = Callable[[int, int | None], None]

CUSTOMER_FIELDS = (
    "name",
    "emails",
    "phones",
    "source",
    "external_id",
    "preferred_channel",
    "locale",
    "time_zone",
    "notes",
    "tags",
)
CASE_FIELDS = (
    "external_id",
    "opened_at",
    "closed_at",
    "status",
    "summary",
    "description",
    "category",
    "product",
    "channel",
    "site",
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_external_id",
)
# Columns holding dates, per kind: read in one shape for the whole column.
DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "signals": ("occurred_at",),
    "cases": ("opened_at", "closed_at"),
    "interactions": ("occurred_at",),
}
# Several columns may feed one of these (Email, Email 2...); their cells add up.
LIST_FIELDS = {"emails", "phones", "tags"}
# Header spellings read as a field without a --map (after lower-casing and
# turning spaces and dashes into underscores).
ALIASES: dict[str, dict[str, str]] = {
    Kind.CUSTOMERS: {
        "email": "emails",
        "phone": "phones",
        "tag": "tags",
        "channel": "preferred_channel",
        "timezone": "time_zone",
        "external_source": "source",
    },
    Kind.TRANSACTIONS: {"email": "customer_email", "type": "kind"},
    Kind.SIGNALS: {
        "email": "customer_email",
        "type": "kind",
        "comment": "text",
        "stars": "rating",
        "date": "occurred_at",
        "created_at": "occurred_at",
    },
    Kind.CASES: {
        "id": "external_id",
        "ticket_id": "external_id",
        "complaint_id": "external_id",
        "date": "opened_at",
        "created_at": "opened_at",
        "date_received": "opened_at",
        "subject": "summary",
        "text": "description",
        "narrative": "description",
        "issue": "category",
        "email": "customer_email",
        "name": "customer_name",
        "phone": "customer_phone",
    },
}
# Kinds whose rows may carry attributes.NAME columns.
_WITH_ATTRIBUTES = {"transactions", "signals"}
ATTRIBUTE_PREFIX = "attributes."

CHUNK_SIZE = 1000
CUSTOMER_CHUNK_SIZE = 500
REJECTIONS_KEPT = 1000  # on the ImportRun row; the full list goes to the report
DEFAULT_SOURCE = "csv"
_SNIFF_BYTES = 64 * 1024
_CHANNEL_WORDS = {"e-mail": "email", "in person": "in_person", "in-person": "in_person"}


@dataclass(frozen=True)
class Rejection:
    line: int
    field: str | None
    column: str | None
    message: str
    code: str = "invalid"
    row: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "column": self.column,
            "message": self.message,
            "code": self.code,
        }


@dataclass
class ImportResult:
    run: ImportRun
    rejections: list[Rejection]
    ignored_columns: list[str]
    header: list[str]


@dataclass
class _Columns:
    """What each CSV column feeds: a field, an attribute, or nothing."""

    header: list[str]
    targets: list[str | None]
    ignored: list[str]

    def column_of(self, field_name: str | None) -> str | None:
        if not field_name:
            return None
        names = [c for c, t in zip(self.header, self.targets, strict=True) if t == field_name]
        return ", ".join(names) or None

    def as_map(self) -> dict[str, str | None]:
        return dict(zip(self.header, self.targets, strict=True))


@dataclass
class _Row:
    line: int
    values: dict[str, Any]  # target -> cell, or list of cells for list fields
    raw: dict[str, str]  # column -> cell, for the report


@dataclass
class _Counts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = dataclasses.field(default_factory=list)


def fields_for(kind: str) -> tuple[str, ...]:
    """The fields a CSV column can be mapped to, for each kind of import."""
    if kind == Kind.INTERACTIONS:
        from bounceback.imports.interactions import INTERACTION_FIELDS

        return INTERACTION_FIELDS
    if kind == Kind.SIGNALS:
        return SIGNAL_FIELDS
    if kind == Kind.CASES:
        return CASE_FIELDS
    return CUSTOMER_FIELDS if kind == Kind.CUSTOMERS else TRANSACTION_FIELDS


def _normal_name(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _target_for(kind: str, name: str) -> str | None:
    """The field a header or --map value names, or None when it names none."""
    known = fields_for(kind)
    if kind in _WITH_ATTRIBUTES and name.strip().lower().startswith(ATTRIBUTE_PREFIX):
        key = name.strip()[len(ATTRIBUTE_PREFIX) :].strip()
        return f"{ATTRIBUTE_PREFIX}{key}" if key else None
    normal = _normal_name(name)
    if normal in known:
        return normal
    if kind == Kind.INTERACTIONS:
        from bounceback.imports.interactions import ALIASES as INTERACTION_ALIASES

        return INTERACTION_ALIASES.get(normal)
    return ALIASES[kind].get(normal)


# Long on purpose: every way a column map can be wrong is checked and reported at once
# (unknown fields, duplicates, missing required ones), before a row is read.
def columns_resolve(
    *,
    kind: str,
    header: Sequence[str],
    column_map: Mapping[str, str] | None = None,
    ignore_unknown: bool = False,
) -> _Columns:
    """Decide what each column feeds, refusing maps and headers that cannot work."""
    header = [h.strip() for h in header]
    known = fields_for(kind)
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name in where:
            raise ValidationFailed(
                f"column {name!r} appears twice in the header (columns {where[name] + 1} "
                f"and {i + 1}); rename one",
                field="header",
                code="duplicate_column",
            )
        where.setdefault(name, i)

    mapped: dict[int, str | None] = {}
    for column, wanted in (column_map or {}).items():
        column = column.strip()
        index = where.get(column)
        if index is None:
            folded = [i for i, h in enumerate(header) if h.casefold() == column.casefold()]
            index = folded[0] if len(folded) == 1 else None
        if index is None:
            raise ValidationFailed(
                f"--map names column {column!r}, but the file has no such column; its "
                f"columns are: {', '.join(h for h in header if h)}",
                field="column_map",
                code="unknown_map_column",
            )
        if wanted.strip() in ("", "-"):
            mapped[index] = None  # mapped to nothing: skip the column on purpose
            continue
        target = _target_for(kind, wanted)
        if target is None:
            extra = ", or attributes.NAME" if kind in _WITH_ATTRIBUTES else ""
            raise ValidationFailed(
                f"--map {column}={wanted}: {wanted!r} is not a {kind} field; fields are "
                f"{', '.join(known)}{extra}",
                field="column_map",
                code="unknown_field",
            )
        mapped[index] = target

    targets: list[str | None] = []
    unknown: list[str] = []
    ignored: list[str] = []
    for i, name in enumerate(header):
        if i in mapped:
            targets.append(mapped[i])
            if mapped[i] is None:
                ignored.append(name)
            continue
        # A column without a name cannot be mapped; spreadsheets add them at the end.
        target = _target_for(kind, name) if name else None
        targets.append(target)
        if target is None and name:
            (ignored if ignore_unknown else unknown).append(name)
    if unknown:
        raise ValidationFailed(
            f"unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}: map each to a field with "
            f"--map 'COLUMN=FIELD' or pass --ignore-unknown to skip them. {kind.title()} "
            f"fields are {', '.join(known)}",
            field="header",
            code="unknown_columns",
        )

    seen: dict[str, str] = {}
    for name, target in zip(header, targets, strict=True):
        if target is None or target in LIST_FIELDS:
            continue
        if target in seen:
            raise ValidationFailed(
                f"columns {seen[target]!r} and {name!r} both feed {target}; map one of them "
                f"to another field or to nothing (--map '{name}=')",
                field="column_map",
                code="duplicate_field",
            )
        seen[target] = name
    _check_required(kind, {t for t in targets if t})
    return _Columns(header=header, targets=targets, ignored=ignored)


def _check_required(kind: str, present: set[str]) -> None:
    def missing(what: str, hint: str) -> ValidationFailed:
        return ValidationFailed(
            f"the file has no column for {what}; {hint}", field="header", code="missing_column"
        )

    if kind == Kind.TRANSACTIONS:
        if not present & {"customer_id", "customer_email", "customer_external_id"}:
            raise missing(
                "the customer",
                "add customer_email, customer_id or customer_external_id, "
                "or map yours with --map 'Email=customer_email'",
            )
        for name in ("kind", "amount", "occurred_at"):
            if name not in present:
                raise missing(name, f"map yours with --map 'COLUMN={name}'")
        if "external_id" not in present:
            raise missing(
                "external_id (the order or booking number)",
                "it is what lets a re-import update rows instead of adding them twice; map "
                "yours with --map 'Order No=external_id'",
            )
    elif kind == Kind.CASES:
        for name in ("external_id", "opened_at"):
            if name not in present:
                raise missing(
                    name,
                    f"map yours with --map 'COLUMN={name}' (external_id, the complaint's id "
                    "in the other system, is what makes re-importing update instead of "
                    "duplicating)",
                )
        if not present & {"summary", "description", "category"}:
            raise missing(
                "what the complaint is about",
                "map a summary, description or category column",
            )
    elif kind == Kind.INTERACTIONS:
        from bounceback.imports.interactions import required

        for what, hint in required(present):
            raise missing(what, hint)
    elif kind == Kind.SIGNALS:
        for name in ("external_id", "occurred_at"):
            if name not in present:
                raise missing(
                    name,
                    f"map yours with --map 'COLUMN={name}' (external_id is what makes "
                    "importing the same file twice harmless)",
                )
    elif not present & {"name", "emails", "external_id"}:
        raise missing(
            "the customer",
            "a customers file needs name, email or external_id; map yours with "
            "--map 'Full name=name'",
        )


# --- Reading the file ---------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """Passes bytes through and counts them, so progress can follow the file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", code=code)


def _check_bytes(raw: IO[bytes]) -> None:
    """Refuse, before anything is stored, a file that is not UTF-8 CSV text."""
    head = raw.read(_SNIFF_BYTES)
    if not head.strip().removeprefix(codecs.BOM_UTF8).strip():
        raise _refuse("the file is empty", "empty_file")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _refuse(
            "the file is UTF-16 text; save it as 'CSV UTF-8' and import that", "bad_encoding"
        )
    if head.startswith(b"PK\x03\x04"):
        raise _refuse(
            "this is a zip archive or an Excel workbook, not CSV; save it as 'CSV UTF-8' "
            "and import that",
            "not_csv",
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    block = head
    while block:
        if b"\x00" in block:
            raise _refuse(
                "the file contains binary data (NUL bytes), so it is not a CSV text file",
                "not_csv",
            )
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            line = lines_before + block.count(b"\n", 0, max(exc.start, 0)) + 1
            bad = block[exc.start : exc.start + 1].hex().upper()
            raise _refuse(
                f"line {line} is not UTF-8 text (byte 0x{bad}); save the file as "
                "'CSV UTF-8' and import it again",
                "bad_encoding",
            ) from None
        lines_before += block.count(b"\n")
        block = raw.read(1024 * 1024)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _refuse(
            "the file ends in the middle of a UTF-8 character; it may be cut short",
            "bad_encoding",
        ) from None
    raw.seek(0)


def _delimiter(first_line: str) -> str:
    """Comma unless the header plainly uses semicolons or tabs (European spreadsheets)."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _rows(
    raw: IO[bytes],
) -> tuple[list[str], Iterator[tuple[int, list[str]]], _CountingReader]:
    counter = _CountingReader(raw)
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8-sig", newline="")
    first = text.readline()
    delimiter = _delimiter(first)
    reader = csv.reader(_chain(first, text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise _refuse("the file is empty", "empty_file") from None
    except csv.Error as exc:
        raise _refuse(f"the header row cannot be read as CSV: {exc}", "not_csv") from None
    if not any(h.strip() for h in header):
        raise _refuse("the first line is blank; it must be the header row", "no_header")

    def rows() -> Iterator[tuple[int, list[str]]]:
        previous = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _UnreadableRow(previous + 1, str(exc)) from None
            # The row starts on the line after the previous row ended.
            start, previous = previous + 1, reader.line_num
            yield start, cells

    return header, rows(), counter


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


class _UnreadableRow(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


# --- Customers ------------------------------------------------------------------------


def _split(values: Any, pattern: str) -> list[str]:
    cells = values if isinstance(values, list) else [values or ""]
    return [part.strip() for cell in cells for part in re.split(pattern, cell) if part.strip()]


def _optional(value: Any, *, field: str, max_length: int) -> str | None:
    return text_field(value, field=field, max_length=max_length, loose=True) or None


class _CustomerRows:
    def __init__(self, *, source: str, columns: _Columns, counts: _Counts) -> None:
        self.source = source
        self.columns = columns
        self.counts = counts
        self.seen_emails: dict[str, int] = {}
        self.seen_phones: dict[str, int] = {}
        self.seen_external: dict[tuple[str, str], int] = {}
        self.pending: list[_Row] = []

    def add(self, row: _Row) -> None:
        self.pending.append(row)
        if len(self.pending) >= CUSTOMER_CHUNK_SIZE:
            self.flush()

    def flush(self) -> None:
        # One transaction per chunk keeps SQLite fast; each row is its own
        # savepoint inside it, so a rejected row leaves no trace.
        rows, self.pending = self.pending, []
        if not rows:
            return
        with transaction.atomic():
            for row in rows:
                try:
                    with transaction.atomic():
                        outcome = self.store(row)
                except ServiceError as exc:
                    self.reject(row, exc.field, exc.message, exc.code)
                    continue
                except DataError as exc:
                    self.reject(row, None, f"could not be stored: {exc}", "invalid")
                    continue
                if outcome == "created":
                    self.counts.created += 1
                elif outcome == "updated":
                    self.counts.updated += 1
                else:
                    self.counts.unchanged += 1

    def reject(self, row: _Row, where: str | None, message: str, code: str) -> None:
        name = re.sub(r"\[\d+\]$", "", where) if where else None
        name = {"external_ids": "external_id"}.get(name or "", name)
        self.counts.rejections.append(
            Rejection(row.line, name, self.columns.column_of(name), message, code, row.raw)
        )

    def store(self, row: _Row) -> str:
        v = row.values
        name = text_field(v.get("name"), field="name", max_length=200, loose=True)
        emails = []
        for address in _split(v.get("emails"), r"[;,\s]+"):
            if len(address) > 254:
                raise ValidationFailed(f"{address[:40]}… is too long for an email", field="emails")
            emails.append(email_normalise(address=address, field="emails"))
        phones = [
            phone_normalise(number=n, field="phones") for n in _split(v.get("phones"), r"[;,]")
        ]
        tags = _split(v.get("tags"), r"[;,]")
        source = _optional(v.get("source"), field="source", max_length=60) or self.source
        external_id = _optional(v.get("external_id"), field="external_id", max_length=200)
        channel = (v.get("preferred_channel") or "").strip().lower() or None
        channel = _CHANNEL_WORDS.get(channel or "", channel)
        if channel is not None and channel not in Channel.values:
            raise ValidationFailed(
                f"preferred_channel must be one of {', '.join(Channel.values)}, not "
                f"{v.get('preferred_channel')!r}",
                field="preferred_channel",
            )
        locale = _optional(v.get("locale"), field="locale", max_length=20)
        time_zone = _optional(v.get("time_zone"), field="time_zone", max_length=64)
        notes = (v.get("notes") or "").strip() or None

        self.check_file_duplicates(row.line, emails, phones, source, external_id)
        customer = self.match(emails, source, external_id)
        if customer is None:
            if not name:
                raise ValidationFailed(
                    "a new customer needs a name (no stored customer has this email or "
                    "external id)",
                    field="name",
                )
            customer_create(
                name=name,
                emails=emails,
                phones=phones,
                external_ids=[ExternalIdentity(source, external_id)] if external_id else [],
                preferred_channel=channel or Channel.EMAIL,
                locale=locale or "en",
                time_zone=time_zone or "UTC",
                notes=notes or "",
                tags=tags,
            )
            outcome = "created"
        else:
            outcome = self.update(
                customer,
                name=name,
                emails=emails,
                phones=phones,
                external=ExternalIdentity(source, external_id) if external_id else None,
                changes={
                    "preferred_channel": channel,
                    "locale": locale,
                    "time_zone": time_zone,
                    "notes": notes,
                },
                tags=tags,
            )
        self.remember(row.line, emails, phones, source, external_id)
        return outcome

    def check_file_duplicates(
        self,
        line: int,
        emails: list[str],
        phones: list[str],
        source: str,
        external_id: str | None,
    ) -> None:
        # Two rows claiming one identity are two versions of one customer; the
        # file must say which is right, so the later row is refused.
        if external_id and (source, external_id) in self.seen_external:
            raise Conflict(
                f"{source} id {external_id} is also on line "
                f"{self.seen_external[(source, external_id)]}; one id, one customer",
                field="external_id",
                code="duplicate_in_file",
            )
        for address in emails:
            if address.lower() in self.seen_emails:
                raise Conflict(
                    f"{address} is also on line {self.seen_emails[address.lower()]}; "
                    "one email, one customer",
                    field="emails",
                    code="duplicate_in_file",
                )
        for number in phones:
            if number in self.seen_phones:
                raise Conflict(
                    f"{number} is also on line {self.seen_phones[number]}; "
                    "one phone number, one customer",
                    field="phones",
                    code="duplicate_in_file",
                )

    def remember(
        self,
        line: int,
        emails: list[str],
        phones: list[str],
        source: str,
        external_id: str | None,
    ) -> None:
        for address in emails:
            self.seen_emails[address.lower()] = line
        for number in phones:
            self.seen_phones[number] = line
        if external_id:
            self.seen_external[(source, external_id)] = line

    def match(self, emails: list[str], source: str, external_id: str | None) -> Customer | None:
        """The stored customer this row is about, by external id or email."""
        owners: dict[int, str] = {}
        if external_id:
            by_id = (
                CustomerExternalId.objects.filter(source=source, external_id=external_id)
                .values_list("customer_id", flat=True)
                .first()
            )
            if by_id:
                owners[by_id] = f"{source} id {external_id}"
        if emails:
            lowered = [e.lower() for e in emails]
            for address, customer_id in (
                CustomerEmail.objects.annotate(lower=Lower("address"))
                .filter(lower__in=lowered)
                .values_list("address", "customer_id")
            ):
                owners.setdefault(customer_id, address)
        if len(owners) > 1:
            named = Customer.objects.in_bulk(list(owners))
            parts = [
                f"{what} belongs to {named[cid].name} (id {cid})" for cid, what in owners.items()
            ]
            raise Conflict(
                "this row mixes two stored customers: " + "; ".join(parts),
                field="external_id" if external_id else "emails",
                code="duplicate_identity",
            )
        if not owners:
            return None
        customer = Customer.objects.with_identities().get(pk=next(iter(owners)))
        if external_id:
            clash = [
                e.external_id
                for e in customer.external_ids.all()
                if e.source == source and e.external_id != external_id
            ]
            if clash:
                raise Conflict(
                    f"{owners[customer.pk]} belongs to {customer.name} (id {customer.pk}), "
                    f"whose {source} id is {clash[0]}, not {external_id}",
                    field="external_id",
                    code="duplicate_identity",
                )
        return customer

    def update(
        self,
        customer: Customer,
        *,
        name: str,
        emails: list[str],
        phones: list[str],
        external: ExternalIdentity | None,
        changes: dict[str, str | None],
        tags: list[str],
    ) -> str:
        # Blank cells keep what is stored, and identities and tags are only
        # added: an import never takes away what staff or another source set.
        wanted: dict[str, Any] = {
            k: v for k, v in changes.items() if v is not None and getattr(customer, k) != v
        }
        if name and name != customer.name:
            wanted["name"] = name
        merged_tags = sorted({*customer.tags, *tags})
        if merged_tags != sorted(customer.tags):
            wanted["tags"] = merged_tags
        stored_emails = [e.address for e in customer.emails.all()]
        lowered = {e.lower() for e in stored_emails}
        new_emails = [e for e in emails if e.lower() not in lowered]
        stored_phones = [p.number for p in customer.phones.all()]
        new_phones = [p for p in phones if p not in stored_phones]
        stored_ext = [
            ExternalIdentity(e.source, e.external_id) for e in customer.external_ids.all()
        ]
        new_ext = [external] if external and external not in stored_ext else []
        if not (wanted or new_emails or new_phones or new_ext):
            return "unchanged"
        customer_update(
            customer=customer,
            emails=[*stored_emails, *new_emails] if new_emails else None,
            phones=[*stored_phones, *new_phones] if new_phones else None,
            external_ids=[*stored_ext, *new_ext] if new_ext else None,
            **wanted,
        )
        return "updated"


# --- Transactions -----------------------------------------------------------------------


def _row_item(row: _Row) -> dict[str, Any]:
    """The row's cells as the mapping a service takes; attributes.NAME columns and
    an attributes JSON column become one attributes object."""
    item: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for target, value in row.values.items():
        if target.startswith(ATTRIBUTE_PREFIX):
            if value.strip():
                attributes[target[len(ATTRIBUTE_PREFIX) :]] = value.strip()
        elif target == "attributes":
            if value.strip():
                try:
                    parsed = json.loads(value)
                except ValueError:
                    parsed = None
                if not isinstance(parsed, dict):
                    raise ValidationFailed(
                        'attributes must be a JSON object such as {"seat": "F12"}',
                        field="attributes",
                    )
                attributes = {**parsed, **attributes}
        else:
            item[target] = value
    if attributes:
        item["attributes"] = attributes
    return item


class _TransactionRows:
    def __init__(
        self, *, source: str, customer_source: str, columns: _Columns, counts: _Counts
    ) -> None:
        self.source = source
        self.customer_source = customer_source
        self.columns = columns
        self.counts = counts
        self.seen: dict[tuple[str, str], int] = {}
        self.pending: list[tuple[_Row, dict[str, Any]]] = []

    def reject(self, row: _Row, where: str | None, message: str, code: str) -> None:
        self.counts.rejections.append(
            Rejection(row.line, where, self.columns.column_of(where), message, code, row.raw)
        )

    def item(self, row: _Row) -> dict[str, Any]:
        """The mapping transactions_upsert takes, built from the row's cells."""
        item = _row_item(row)
        if not str(item.get("currency") or "").strip():
            item["currency"] = settings.BOUNCEBACK_CURRENCY
        if not str(item.get("external_id") or "").strip():
            raise ValidationFailed(
                "external_id is required, so importing the file again updates this row "
                "instead of adding it twice",
                field="external_id",
            )
        if (
            str(item.get("customer_external_id") or "").strip()
            and not str(item.get("customer_source") or "").strip()
        ):
            item["customer_source"] = self.customer_source
        return item

    def add(self, row: _Row) -> None:
        try:
            item = self.item(row)
            key, external_id = self.identify(item)
        except ServiceError as exc:
            self.reject(row, exc.field, exc.message, exc.code)
            return
        if key in self.seen:
            self.reject(
                row,
                "external_id",
                f"external_id {external_id!r} is also on line {self.seen[key]}",
                "duplicate_in_file",
            )
            return
        self.seen[key] = row.line
        self.pending.append((row, item))
        if len(self.pending) >= CHUNK_SIZE:
            self.flush()

    def identify(self, item: dict[str, Any]) -> tuple[tuple[str, str], str | None]:
        """Parse the row as the store will (refusing what it would): its key in
        the file, and its external id as written."""
        parsed = transaction_parse(data=item, default_source=self.source)
        return (parsed.source, parsed.external_id or ""), parsed.external_id

    def flush(self) -> None:
        chunk, self.pending = self.pending, []
        if not chunk:
            return
        result = transactions_upsert(items=[item for _, item in chunk], default_source=self.source)
        for error in result.errors:
            row = chunk[error.index][0]
            self.reject(row, error.field, error.message, error.code)
        self.counts.created += len(result.created)
        self.counts.updated += len(result.updated)
        self.counts.unchanged += len(result.unchanged)


class _SignalRows(_TransactionRows):
    """Signals: checked row by row, stored in chunks through signals_record_many."""

    def item(self, row: _Row) -> dict[str, Any]:
        item = _row_item(row)
        if (
            str(item.get("customer_external_id") or "").strip()
            and not str(item.get("customer_source") or "").strip()
        ):
            item["customer_source"] = self.customer_source
        return item

    def identify(self, item: dict[str, Any]) -> tuple[tuple[str, str], str | None]:
        parsed = signal_parse(data=item, default_source=self.source)
        return (parsed.source, parsed.external_id), parsed.external_id

    def flush(self) -> None:
        chunk, self.pending = self.pending, []
        if not chunk:
            return
        result = signals_record_many(items=[item for _, item in chunk], default_source=self.source)
        for error in result.errors:
            self.reject(chunk[error.index][0], error.field, error.message, error.code)
        self.counts.created += result.count("created")
        self.counts.unchanged += result.count("unchanged")


# --- Historical complaints -------------------------------------------------------------

_CHANNEL_ALIASES = {
    "website": "web",
    "web form": "web",
    "online": "web",
    "portal": "web",
    "e-mail": "email",
    "mail": "email",
    "telephone": "phone",
    "call": "phone",
    "voice": "phone",
    "text": "sms",
    "twitter": "social",
    "facebook": "social",
    "walk-in": "in_person",
    "in person": "in_person",
    "in-person": "in_person",
}
# Statuses that mean the other system finished with the complaint.
_CLOSED_WORDS = ("closed", "resolved", "solved", "done", "complete", "cancelled", "canceled")


def _case_channel(raw: str) -> tuple[str, str]:
    """The Bounceback channel for a cell, and the original word when it had to be
    translated: ways Bounceback has no channel for (postal mail, fax, a referral)
    are stored as web, the original kept on the import event."""
    word = " ".join(raw.strip().lower().split())
    if not word:
        return Channel.WEB, ""
    if word in Channel.values:
        return word, ""
    if word in _CHANNEL_ALIASES:
        return _CHANNEL_ALIASES[word], ""
    return Channel.WEB, raw.strip()


def _summary_of(category: str, product: str, description: str) -> str:
    if category:
        return f"{category} ({product})"[:200] if product else category[:200]
    line = " ".join(description.split())
    return line if len(line) <= 80 else line[:79].rstrip() + "…"


class _CaseRows(_TransactionRows):
    """Complaints from another system, one savepoint per row inside chunked transactions."""

    def __init__(self, *, actor: ActorLike, readers: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor = actor
        self.readers = readers

    def add(self, row: _Row) -> None:
        self.pending.append((row, {}))
        if len(self.pending) >= CUSTOMER_CHUNK_SIZE:
            self.flush()

    def flush(self) -> None:
        chunk, self.pending = self.pending, []
        if not chunk:
            return
        with transaction.atomic():
            for row, _ in chunk:
                try:
                    with transaction.atomic():
                        outcome = self.store(row)
                except ServiceError as exc:
                    self.reject(row, exc.field, exc.message, exc.code)
                    continue
                except DataError as exc:
                    self.reject(row, None, f"could not be stored: {exc}", "invalid")
                    continue
                setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)

    def date(self, row: _Row, name: str, *, required: bool) -> Any:
        cell = str(row.values.get(name) or "").strip()
        if not cell:
            if required:
                raise ValidationFailed(f"{name} is required", field=name)
            return None
        value = self.readers[name].read(cell) if name in self.readers else None
        if value is None:
            raise ValidationFailed(
                f"{name} {cell!r} is not a date this column can hold", field=name
            )
        return value

    def store(self, row: _Row) -> str:
        from bounceback.cases.models import Case
        from bounceback.cases.services import case_import
        from bounceback.sites.services import site_code_normalise, sites_ensure

        v = row.values
        external_id = _optional(v.get("external_id"), field="external_id", max_length=200)
        if not external_id:
            raise ValidationFailed(
                "external_id is required, so importing the file again updates this case "
                "instead of adding it twice",
                field="external_id",
            )
        if (external_id, "") in self.seen:
            raise Conflict(
                f"external_id {external_id!r} is also on line {self.seen[(external_id, '')]}",
                field="external_id",
                code="duplicate_in_file",
            )
        self.seen[(external_id, "")] = row.line
        opened_at = self.date(row, "opened_at", required=True)
        closed_at = self.date(row, "closed_at", required=False)
        status = " ".join(str(v.get("status") or "").strip().lower().split())
        closed = status.startswith(_CLOSED_WORDS) or (not status and closed_at is not None)
        description = text_field(v.get("description"), field="description", loose=True)
        category = _optional(v.get("category"), field="category", max_length=120) or ""
        product = _optional(v.get("product"), field="product", max_length=200) or ""
        summary = _optional(v.get("summary"), field="summary", max_length=200) or _summary_of(
            category, product, description
        )
        channel, original_channel = _case_channel(str(v.get("channel") or ""))
        site_cell = _optional(v.get("site"), field="site", max_length=60)
        site = None
        if site_cell:
            code = site_code_normalise(code=site_cell)
            site = sites_ensure(codes={code})[code]
        stored = (
            Case.objects.filter(external_source=self.source, external_id=external_id)
            .select_related("customer")
            .first()
        )
        customer = stored.customer if stored is not None else self.customer(row, external_id)
        if original_channel and not description.endswith(f"(received by {original_channel})"):
            description = (
                f"{description}\n\n(received by {original_channel})".strip()
                if description
                else f"(received by {original_channel})"
            )
        _, outcome = case_import(
            customer=customer,
            external_source=self.source,
            external_id=external_id,
            summary=summary or f"Complaint {external_id}",
            description=description,
            opened_at=opened_at,
            closed=closed,
            closed_at=closed_at,
            channel=channel,
            site=site,
            category=category,
            product=product,
            actor=self.actor,
        )
        return outcome

    def customer(self, row: _Row, external_id: str) -> Customer:
        """The complainant: matched by their id in the other system or their email,
        else created (named after the complaint when the file names nobody)."""
        v = row.values
        email_cell = _optional(v.get("customer_email"), field="customer_email", max_length=254)
        email = email_normalise(address=email_cell, field="customer_email") if email_cell else None
        phone_cell = _optional(v.get("customer_phone"), field="customer_phone", max_length=40)
        phone = phone_normalise(number=phone_cell, field="customer_phone") if phone_cell else None
        their_id = _optional(
            v.get("customer_external_id"), field="customer_external_id", max_length=200
        )
        if their_id:
            found = CustomerExternalId.objects.filter(
                source=self.customer_source, external_id=their_id
            ).first()
            if found is not None:
                return found.customer
        if email:
            by_email = (
                CustomerEmail.objects.annotate(lower=Lower("address"))
                .filter(lower=email.lower())
                .select_related("customer")
                .first()
            )
            if by_email is not None:
                return by_email.customer
        name = _optional(v.get("customer_name"), field="customer_name", max_length=200)
        identity = (
            ExternalIdentity(self.customer_source, their_id)
            if their_id
            else ExternalIdentity(self.source, f"complainant:{external_id}")
        )
        return customer_create(
            name=name or (email or f"Complainant {external_id}"),
            emails=[email] if email else [],
            phones=[phone] if phone else [],
            external_ids=[identity],
            preferred_channel=Channel.EMAIL,
        )


def _date_readers(
    kind: str,
    columns: _Columns,
    rows: Iterator[tuple[int, list[str]]],
    date_format: str | None,
) -> dict[str, DateReader]:
    """Settle how each date column reads, over the whole file, before anything is
    written: an ambiguous or changing column refuses the file (ValidationFailed)."""
    wanted = [(i, t) for i, t in enumerate(columns.targets) if t and t in DATE_FIELDS.get(kind, ())]
    if not wanted:
        return {}
    cells: dict[str, list[tuple[int, str]]] = {t: [] for _, t in wanted}
    try:
        for line, row in rows:
            for i, target in wanted:
                if i < len(row) and row[i].strip():
                    cells[target].append((line, row[i]))
    except _UnreadableRow:
        pass  # reported by the import pass with its line
    return {
        target: date_reader_settle(
            column=columns.column_of(target) or target,
            cells=found,
            date_format=date_format,
        )
        for target, found in cells.items()
    }


class _IsoReader:
    """Dates in API items: ISO 8601, as every other API field."""

    def read(self, text: str) -> Any:
        try:
            return datetime_field(text, field="date", required=False)
        except ValidationFailed:
            return None


def cases_import_items(
    *, items: Sequence[Mapping[str, Any]], source: str, actor: ActorLike = None
) -> tuple[_Counts, dict[int, Rejection]]:
    """The API's bulk import of past complaints: each item is a row of the cases
    import (CASE_FIELDS, dates in ISO 8601); returns the counts and, per rejected
    item's index, why."""
    source = text_field(source, field="source", max_length=60, required=True, loose=True)
    columns = _Columns(header=list(CASE_FIELDS), targets=list(CASE_FIELDS), ignored=[])
    counts = _Counts()
    handler = _CaseRows(
        actor=actor,
        readers={name: _IsoReader() for name in DATE_FIELDS["cases"]},
        source=source,
        customer_source=source,
        columns=columns,
        counts=counts,
    )
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            counts.rejections.append(Rejection(index, None, None, "each item must be an object"))
            continue
        unknown = sorted(set(item) - set(CASE_FIELDS))
        if unknown:
            counts.rejections.append(
                Rejection(index, unknown[0], None, f"unknown field {unknown[0]!r}")
            )
            continue
        values = {k: "" if v is None else str(v) for k, v in item.items()}
        handler.add(_Row(index, values, {}))
    handler.flush()
    return counts, {r.line: r for r in counts.rejections}


# --- The import -------------------------------------------------------------------------


def _file_size(raw: IO[bytes]) -> int | None:
    try:
        return os.fstat(raw.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    try:
        here = raw.tell()
        size = raw.seek(0, io.SEEK_END)
        raw.seek(here)
        return size
    except (AttributeError, OSError):
        return None


def import_csv(
    *,
    kind: str,
    path: str | Path | None = None,
    file: IO[bytes] | None = None,
    file_name: str = "",
    column_map: Mapping[str, str] | None = None,
    ignore_unknown: bool = False,
    source: str = DEFAULT_SOURCE,
    customer_source: str | None = None,
    actor: ActorLike = None,
    progress: Progress | None = None,
    date_format: str | None = None,
) -> ImportResult:
    """Import customers or transactions from a CSV file (a path, or a binary file object).

    `source` names the system the file comes from: the transactions' source and,
    for customers, the source of their external ids, wherever the file has no
    source column. `customer_source` is where transactions' customer_external_id
    values come from when the file does not say (default: `source`).

    Raises ValidationFailed, storing nothing, when the file as a whole cannot be
    imported. Otherwise stores every valid row, records an ImportRun and an
    audit event, and returns the run with every rejected row.
    """
    if kind not in Kind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(Kind.values)}, not {kind!r}", field="kind"
        )
    source = text_field(source, field="source", max_length=60, required=True, loose=True)
    customer_source = (
        text_field(customer_source, field="customer_source", max_length=60, loose=True) or source
    )
    if (path is None) == (file is None):
        raise ValidationFailed("give either a path or a file", field="file")
    if path is not None:
        file_name = file_name or str(path)
        if not os.path.exists(path):
            raise _refuse(f"no such file: {path}", "missing_file")
        if os.path.isdir(path):
            raise _refuse(f"{path} is a directory, not a CSV file", "not_csv")
        try:
            opened = open(path, "rb")  # noqa: SIM115 - closed below, after the import
        except PermissionError:
            raise _refuse(f"cannot read {path}: permission denied", "unreadable") from None
        with opened:
            return _import(
                kind=kind,
                raw=opened,
                file_name=file_name,
                column_map=column_map,
                ignore_unknown=ignore_unknown,
                source=source,
                customer_source=customer_source,
                actor=actor,
                progress=progress,
                date_format=date_format,
            )
    assert file is not None
    return _import(
        kind=kind,
        raw=file,
        file_name=file_name or getattr(file, "name", "") or "upload.csv",
        column_map=column_map,
        ignore_unknown=ignore_unknown,
        source=source,
        customer_source=customer_source,
        actor=actor,
        progress=progress,
        date_format=date_format,
    )


# Long on purpose: one pass over the file with the progress bar, the rejected-rows
# report and the chunked writes sharing their counters.
def _import(
    *,
    kind: str,
    raw: IO[bytes],
    file_name: str,
    column_map: Mapping[str, str] | None,
    ignore_unknown: bool,
    source: str,
    customer_source: str,
    actor: ActorLike,
    progress: Progress | None,
    date_format: str | None = None,
) -> ImportResult:
    total = _file_size(raw)
    _check_bytes(raw)
    header, rows, counter = _rows(raw)
    columns = columns_resolve(
        kind=kind, header=header, column_map=column_map, ignore_unknown=ignore_unknown
    )
    readers = _date_readers(kind, columns, rows, date_format)
    if readers:
        # The dates were read once to settle their shape; read the rows again.
        raw.seek(0)
        header, rows, counter = _rows(raw)
    width = len(columns.header)
    run = ImportRun.objects.create(
        kind=kind,
        file_name=str(file_name)[:500],
        column_map=columns.as_map(),
        actor=actor_of(actor).user,
    )
    counts = _Counts()
    handler: _CustomerRows | _TransactionRows
    if kind == Kind.INTERACTIONS:
        from bounceback.imports.interactions import InteractionRows

        handler = InteractionRows(
            actor=actor,
            readers=readers,
            source=source,
            customer_source=customer_source,
            columns=columns,
            counts=counts,
        )
    elif kind == Kind.CASES:
        handler = _CaseRows(
            actor=actor,
            readers=readers,
            source=source,
            customer_source=customer_source,
            columns=columns,
            counts=counts,
        )
    elif kind == Kind.CUSTOMERS:
        handler = _CustomerRows(source=source, columns=columns, counts=counts)
    elif kind == Kind.SIGNALS:
        handler = _SignalRows(
            source=source, customer_source=customer_source, columns=columns, counts=counts
        )
    else:
        handler = _TransactionRows(
            source=source, customer_source=customer_source, columns=columns, counts=counts
        )

    def report_progress() -> None:
        if progress:
            done = counter.count if total is None else min(counter.count, total)
            progress(done, total)

    try:
        for line, cells in rows:
            if not any(c.strip() for c in cells):
                continue  # blank lines and rows of empty cells carry nothing
            counts.read += 1
            raw_row = dict(zip(columns.header, cells, strict=False))
            if len(cells) > width:
                extra = [c for c in cells[width:] if c.strip()]
                if extra:
                    counts.rejections.append(
                        Rejection(
                            line,
                            None,
                            None,
                            f"the row has {len(cells)} cells but the header has {width} "
                            "columns; a delimiter or quote is probably out of place",
                            "bad_row",
                            raw_row,
                        )
                    )
                    continue
            values: dict[str, Any] = {}
            for target, cell in zip(columns.targets, cells, strict=False):
                if target is None:
                    continue
                if target in LIST_FIELDS:
                    values.setdefault(target, []).append(cell)
                else:
                    values[target] = cell
            if kind == Kind.SIGNALS:
                for name, reader in readers.items():
                    read = reader.read(values.get(name) or "")
                    if read is not None:
                        values[name] = read.isoformat()
            handler.add(_Row(line, values, raw_row))
            if counts.read % 200 == 0:
                report_progress()
    except _UnreadableRow as exc:
        counts.rejections.append(
            Rejection(
                exc.line,
                None,
                None,
                f"the CSV cannot be read from this line on ({exc.reason}); nothing after it "
                "was imported",
                "unreadable",
            )
        )
    handler.flush()
    report_progress()

    rejections = sorted(counts.rejections, key=lambda r: r.line)
    run.rows_read = counts.read
    run.rows_created = counts.created
    run.rows_updated = counts.updated
    run.rows_unchanged = counts.unchanged
    run.rows_rejected = len(rejections)
    run.rejections = [r.as_dict() for r in rejections[:REJECTIONS_KEPT]]
    run.finished_at = timezone.now()
    run.save()
    audit_record(
        action=AuditEvent.Action.IMPORT_RUN,
        actor=actor,
        actor_label="" if actor_of(actor).is_person else "command line",
        target=f"import:{run.pk}",
        data={
            "kind": kind,
            "file": run.file_name,
            "read": run.rows_read,
            "created": run.rows_created,
            "updated": run.rows_updated,
            "unchanged": run.rows_unchanged,
            "rejected": run.rows_rejected,
        },
    )
    return ImportResult(
        run=run, rejections=rejections, ignored_columns=columns.ignored, header=columns.header
    )


def rejections_write_csv(
    *, rejections: Sequence[Rejection], header: Sequence[str], out: IO[str]
) -> None:
    """All rejected rows as CSV: where and why, then the row as it was in the file."""
    writer = csv.writer(out)
    writer.writerow(["line", "column", "field", "reason", *header])
    for r in rejections:
        writer.writerow(
            [r.line, r.column or "", r.field or "", r.message, *(r.row.get(h, "") for h in header)]
        )
