"""Reading back a date-time PostgreSQL holds but Python cannot.

PostgreSQL keeps timestamps from 4713 BC to 294276 AD (and +/-infinity), Python
only years 1 to 9999. One row written before dates were range-checked (say
9999-12-31T23:59:59-14:00, stored as year 10000 in UTC) made every page and API
list that read it fail. Such a value now reads as the nearest date Python can
hold (a day inside the range, so converting it to any time zone still works),
and the page shows it instead of failing. New values never get that far:
`bounceback.inputs.datetime_in_range` refuses them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.backends.signals import connection_created

LATEST = datetime(9999, 12, 30, tzinfo=UTC)
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)


def _clamping(inner: type) -> type:
    from psycopg import DataError
    from psycopg.adapt import Loader

    class ClampingTimestamptzLoader(Loader):
        # Django compares this with its own on every cursor and would put its
        # loader back if they differed.
        timezone = getattr(inner, "timezone", None)
        clamps = True

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._inner = inner(oid, context)

        def load(self, data: Any) -> datetime:
            try:
                return self._inner.load(data)  # type: ignore[no-any-return]
            except DataError:
                text = bytes(data)
                return EARLIEST if text.startswith(b"-") or text.endswith(b"BC") else LATEST

    return ClampingTimestamptzLoader


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    from psycopg.pq import Format

    adapters = connection.connection.adapters
    # Wrap whatever loader Django registered (it sets the connection's time zone).
    inner = adapters.get_loader(1184, Format.TEXT)  # 1184: timestamptz
    if inner is not None and not getattr(inner, "clamps", False):
        adapters.register_loader("timestamptz", _clamping(inner))


def timestamps_readable() -> None:
    """Make every new PostgreSQL connection read out-of-range timestamps (see above)."""
    connection_created.connect(_install, dispatch_uid="bounceback.timestamps")
