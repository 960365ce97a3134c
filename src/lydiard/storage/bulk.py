"""Fast bulk writes: executemany on SQLite, COPY on PostgreSQL (never row-by-row inserts)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table


def _pg_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, float):
        if math.isnan(value):
            return "\\N"
        return repr(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` into ``table`` as fast as the dialect allows."""
    if not rows:
        return
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    name = table.name
    if conn.dialect.name == "postgresql":
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join(_pg_text(v) for v in row))
            buf.write("\n")
        cur = dbapi.cursor()
        with cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
            cp.write(buf.getvalue())
        return
    marks = ", ".join("?" for _ in columns)
    cur = dbapi.cursor()
    cur.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows)
    cur.close()
