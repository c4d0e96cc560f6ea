"""Who holds a study's driver lease, read with SQLAlchemy Core alone: ``nasbench status`` reads it
without importing the ORM. Taking, renewing and releasing a lease is ``nasbench.store.lease``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Double, column, inspect, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TTL_S = 20.0

# nb_study_leases as the readers see it (models.StudyLeaseRow declares it; a test holds the two together).
LEASES = table(
    "nb_study_leases",
    *(column(c) for c in ("study_id", "token", "host", "pid", "pid_scope", "started_at", "acquired_at")),
    column("heartbeat_at", Double()),
)


@dataclass(frozen=True)
class LeaseHolder:
    """The driver recorded for a study, as ``status`` shows it."""

    study_id: int
    host: str
    pid: int
    pid_scope: str
    started_at: float
    acquired_at: float
    heartbeat_age_s: float  # by the database's clock
    alive: bool  # heartbeat within the TTL, and not seen dead on this machine

    @property
    def started(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.started_at).astimezone()

    def describe(self) -> str:
        return f"PID {self.pid} on host {self.host}, started {self.started:%Y-%m-%d %H:%M:%S %Z}"


class db_now(FunctionElement):
    """Seconds since the Unix epoch by the database's clock."""

    type = Double()
    inherit_cache = True


@compiles(db_now, "sqlite")
def _db_now_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"  # 'now' has millisecond resolution


@compiles(db_now, "postgresql")
def _db_now_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    # clock_timestamp(), not now(): now() is the start of the transaction.
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


def read_holder(conn: Connection | Session, study_id: int, *, ttl: float = TTL_S) -> LeaseHolder | None:
    """The study's recorded driver (alive or not), or None when no driver holds it."""
    if not inspect(conn if isinstance(conn, Connection) else conn.connection()).has_table(LEASES.name):
        return None  # a database from before leases, opened by a reader (readers do not migrate)
    return holder(conn, study_id, ttl)


def holder_row(conn: Connection | Session, study_id: int) -> Any:
    """The lease row of the study with its heartbeat's ``age`` in seconds, or None."""
    age = (db_now() - LEASES.c.heartbeat_at).label("age")
    return conn.execute(select(*LEASES.c, age).where(LEASES.c.study_id == study_id)).first()


def holder(conn: Connection | Session, study_id: int, ttl: float) -> LeaseHolder | None:
    row = holder_row(conn, study_id)
    return None if row is None else to_holder(row, study_id, ttl)


def to_holder(row: Any, study_id: int, ttl: float) -> LeaseHolder:
    fresh = row.age <= ttl
    dead_here = bool(row.pid_scope) and row.pid_scope == pid_scope() and not _pid_exists(row.pid)
    return LeaseHolder(
        study_id=study_id,
        host=row.host,
        pid=row.pid,
        pid_scope=row.pid_scope,
        started_at=row.started_at,
        acquired_at=row.acquired_at,
        heartbeat_age_s=max(0.0, row.age),
        alive=fresh and not dead_here,
    )


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def pid_scope() -> str:
    """The machine's boot id and this process's PID namespace, or "" where /proc does not tell."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}:{namespace}"
