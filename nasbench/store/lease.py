"""One live driver per study: a lease row in the results database, kept alive by a heartbeat.

A driver calls :func:`acquire` before it touches a study's trials, :func:`renew` every
``HEARTBEAT_S`` seconds while it runs (:class:`LeaseKeeper` does that on a thread) and
:func:`release` when it ends. A second driver's :func:`acquire` raises :class:`LeaseHeldError`
naming the running one. ``nasbench status`` reads the holder with :func:`read_holder` (``nasbench.store.holder``).

Expiry. A lease whose heartbeat is older than ``TTL_S`` may be taken over, so a driver killed
with ``kill -9`` (which cannot release) blocks its study for at most 20 s. TTL_S = 20 with a
heartbeat every 5 s means a live driver loses its lease only after four renewals in a row failed
or stalled: a SQLite write waits behind short transactions and a PostgreSQL update takes
milliseconds, so that margin is wide, while 20 s plus a restart stays within the half minute a
user waits before resuming. On the same machine a dead holder is seen at once (its PID is gone
from the same PID namespace), so ``kill -9`` then resume needs no wait at all.

Clocks. Acquired and heartbeat times are written and compared by the database's own clock, never
a driver's: PostgreSQL's ``clock_timestamp()`` on the server, so skew between driver hosts cannot
expire a live lease or keep a dead one. SQLite has no server; its ``julianday('now')`` is the clock
of the machine running the statement, which is the machine holding the file, because SQLite's
file locking is only safe on a local disk (drivers on several hosts need PostgreSQL). The driver's
start time is its own host's clock and is only shown to people.

Atomicity. Taking a lease is one ``INSERT .. ON CONFLICT DO UPDATE .. WHERE expired`` statement:
SQLite runs one writer at a time and PostgreSQL locks the conflicting row and re-checks the
condition, so of two racing drivers exactly one gets its token written. Taking over a dead
same-machine holder is a compare-and-set on the old token. Renewal and release match the token,
so a driver whose lease was taken over finds out at its next heartbeat.

These functions take an Engine, not a Session: a lease means something only once committed, and
the heartbeat runs on its own thread, so each call is its own short transaction.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.orm import Session

from nasbench.errors import StoreError
from nasbench.store.db import session_scope
from nasbench.store.holder import TTL_S, LeaseHolder, db_now, holder_row, pid_scope, read_holder, to_holder
from nasbench.store.models import StudyLeaseRow, StudyRow

HEARTBEAT_S = 5.0

T = cast(Table, StudyLeaseRow.__table__)


class LeaseHeldError(StoreError):
    """Another driver holds the study's lease and its heartbeat is fresh."""

    def __init__(self, study: str, holder: LeaseHolder, ttl: float) -> None:
        self.holder = holder
        super().__init__(
            f"study {study!r} already has a live driver: {holder.describe()}, last heartbeat "
            f"{holder.heartbeat_age_s:.0f} s ago (a driver that stops beating is replaced after "
            f"{ttl:.0f} s); wait for it to end or stop it."
        )


class LeaseLostError(StoreError):
    """This driver's lease was taken over (or removed) after its heartbeat lapsed."""


@dataclass(frozen=True)
class Driver:
    """Who asks for a lease: this process, unless a test says otherwise."""

    host: str
    pid: int
    pid_scope: str  # boot id and PID namespace: where ``pid`` names a process ("" unknown)
    started_at: float  # process start, seconds since the epoch, this host's clock


@dataclass(frozen=True)
class Lease:
    """A lease this process holds; ``token`` proves it to renew and release."""

    study_id: int
    study: str
    token: str
    driver: Driver


def this_driver() -> Driver:
    """This process as a lease holder."""
    return Driver(
        host=socket.gethostname(),
        pid=os.getpid(),
        pid_scope=pid_scope(),
        started_at=_process_start(os.getpid()) or _IMPORTED_AT,
    )


def acquire(engine: Engine, study_id: int, *, ttl: float = TTL_S, driver: Driver | None = None) -> Lease:
    """Take the study's lease, or raise LeaseHeldError naming the live driver that has it."""
    driver = driver or this_driver()
    for _ in range(5):  # a holder that releases or dies between our statements: look again
        token = secrets.token_hex(16)
        with session_scope(engine) as s:
            name = _study_name(s, study_id)
            if _insert_or_take_expired(s, study_id, token, driver, ttl):
                return Lease(study_id, name, token, driver)
            row = holder_row(s, study_id)
            if row is None:
                continue
            holder = to_holder(row, study_id, ttl)
            if holder.alive:
                raise LeaseHeldError(name, holder, ttl)
            # Dead on this machine before its TTL ran out. The row is locked (SQLite: we hold the
            # write lock; PostgreSQL: ON CONFLICT locked it), so the token read is still current.
            if _take_over(s, study_id, row.token, token, driver):
                return Lease(study_id, name, token, driver)
    raise StoreError(f"study {name!r}: could not take the driver lease; other drivers keep changing it.")


def renew(engine: Engine, lease: Lease) -> None:
    """Record a heartbeat; LeaseLostError when another driver has taken the lease over."""
    with session_scope(engine) as s:
        done = s.execute(
            update(T)
            .where(T.c.study_id == lease.study_id, T.c.token == lease.token)
            .values(heartbeat_at=db_now())
            .returning(T.c.study_id)
        ).first()
        if done is not None:
            return
        holder = read_holder(s, lease.study_id)
    now_held = f"now held by {holder.describe()}" if holder else "no driver holds it now"
    raise LeaseLostError(
        f"study {lease.study!r}: this driver (PID {lease.driver.pid}) lost its lease after "
        f"its heartbeat lapsed ({now_held}); it must stop."
    )


def release(engine: Engine, lease: Lease) -> None:
    """Give the lease up (nothing happens if it was taken over meanwhile)."""
    with session_scope(engine) as s:
        s.execute(delete(T).where(T.c.study_id == lease.study_id, T.c.token == lease.token))


class LeaseKeeper:
    """Renews a lease every ``interval`` seconds on a daemon thread until stopped.

    A renewal that fails for a passing reason (database busy or unreachable) is retried at the
    next beat; a lost lease stops the thread, is kept in ``lost`` and passed to ``on_lost``.
    """

    def __init__(
        self,
        engine: Engine,
        lease: Lease,
        *,
        interval: float = HEARTBEAT_S,
        on_lost: Callable[[LeaseLostError], None] | None = None,
    ) -> None:
        self.engine, self.lease, self.interval, self.on_lost = engine, lease, interval, on_lost
        self.lost: LeaseLostError | None = None
        self.last_error: StoreError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{lease.study_id}", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def check(self) -> None:
        """Raise LeaseLostError if the lease was lost."""
        if self.lost is not None:
            raise self.lost

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                renew(self.engine, self.lease)
                self.last_error = None
            except LeaseLostError as e:
                self.lost = e
                if self.on_lost is not None:
                    self.on_lost(e)
                return
            except StoreError as e:
                self.last_error = e


@contextmanager
def hold(
    engine: Engine,
    study_id: int,
    *,
    on_lost: Callable[[LeaseLostError], None] | None = None,
    interval: float = HEARTBEAT_S,
    ttl: float = TTL_S,
) -> Iterator[LeaseKeeper]:
    """Acquire the study's lease, renew it while the block runs, release it after (also on errors)."""
    lease = acquire(engine, study_id, ttl=ttl)
    keeper = LeaseKeeper(engine, lease, interval=interval, on_lost=on_lost).start()
    try:
        yield keeper
    finally:
        keeper.stop()
        release(engine, lease)


def _study_name(s: Session, study_id: int) -> str:
    name = s.scalar(select(StudyRow.name).where(StudyRow.study_id == study_id))
    if name is None:
        raise StoreError(f"no study with id {study_id} in the database.")
    return name


def _insert_or_take_expired(s: Session, study_id: int, token: str, driver: Driver, ttl: float) -> bool:
    fields = _fields(token, driver)
    from sqlalchemy.dialects import postgresql, sqlite  # here: readers of a lease (status) skip them

    dialect = s.get_bind().dialect.name
    insert: Any = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise StoreError(f"study leases need SQLite or PostgreSQL, not {dialect}.")
    stmt = (
        insert(T)
        .values(study_id=study_id, **fields)
        .on_conflict_do_update(index_elements=[T.c.study_id], set_=fields, where=T.c.heartbeat_at < db_now() - ttl)
    )
    return s.execute(stmt.returning(T.c.token)).scalar() == token


def _take_over(s: Session, study_id: int, holder_token: str, token: str, driver: Driver) -> bool:
    done = s.execute(
        update(T)
        .where(T.c.study_id == study_id, T.c.token == holder_token)
        .values(**_fields(token, driver))
        .returning(T.c.study_id)
    ).first()
    return done is not None


def _fields(token: str, driver: Driver) -> dict[str, Any]:
    return {
        "token": token,
        "host": driver.host,
        "pid": driver.pid,
        "pid_scope": driver.pid_scope,
        "started_at": driver.started_at,
        "acquired_at": db_now(),
        "heartbeat_at": db_now(),
    }


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    ticks = float(stat.rsplit(")", 1)[1].split()[19])  # field 22, counted after the command name
    return boot + ticks / os.sysconf("SC_CLK_TCK")


_IMPORTED_AT = time.time()
