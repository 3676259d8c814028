"""SQL expressions the ORM has no portable, fast form of."""

from __future__ import annotations

from typing import Any

from django.db.models import FloatField, Func


class SecondsBetween(Func):
    """Seconds from one datetime column to another, computed by the database itself.

    Django's own datetime arithmetic on SQLite calls a Python function per row
    (django_format_dtdelta), which costs more than the rest of a 100,000-case
    aggregate; julianday() and EXTRACT(EPOCH ...) are built in.
    """

    output_field = FloatField()
    arity = 2

    def as_sqlite(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        (start, start_params), (end, end_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return (
            f"((julianday({end}) - julianday({start})) * 86400.0)",
            [*end_params, *start_params],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        (start, start_params), (end, end_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return f"EXTRACT(EPOCH FROM ({end} - {start}))", [*end_params, *start_params]
