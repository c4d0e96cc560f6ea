"""Bringing a results database to the current schema with Alembic, from code (no alembic.ini).

``open_engine`` calls :func:`upgrade` for every writer. The revisions live in
``nasbench/store/migrations/versions``; their numbers are kept in the table ``nb_alembic_version``
because Optuna, which shares the database, keeps its own revision in ``alembic_version``.

A database written before migrations existed (nasbench tables present, no ``nb_alembic_version``)
is adopted by revision 0001, which creates only the tables such a database lacks; from there the
usual revisions apply.

Upgrades are serialised between processes (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL), so two drivers opening the same new database at once create the tables once.

A developer adds a revision after changing ``models.py`` with::

    python -m nasbench.store.migrate revision "what changes"

then reads and edits the generated file (SQLite needs ``op.batch_alter_table`` to alter a table).
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select
from sqlalchemy.pool import NullPool

from nasbench.store.revisions import LEGACY_TABLE, VERSION_TABLE, check_known, current_revision

MIGRATIONS = Path(__file__).with_name("migrations")
# One PostgreSQL advisory lock for every nasbench schema change ("nbmigr" in ASCII).
PG_LOCK_KEY = 0x6E626D696772


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only nasbench's tables take part in comparisons; Optuna's tables are Optuna's business."""
    if type_ == "table":
        return name is not None and name.startswith("nb_") and name != VERSION_TABLE
    return True


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for our migrations; env.py runs on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this nasbench knows."""
    head = _script().get_current_head()
    assert head is not None, "no migrations found"
    return head


def is_legacy(conn: Connection) -> bool:
    """Written by a release before migrations: our tables exist, no revision is recorded."""
    return current_revision(conn) is None and inspect(conn).has_table(LEGACY_TABLE)


def upgrade(engine: Engine, revision: str = "head", where: str = "") -> None:
    """Bring the database to ``revision`` (default: the newest), creating our tables if none exist."""
    where = where or engine.url.render_as_string(hide_password=True)
    target = head_revision() if revision == "head" else revision
    with engine.connect() as conn:  # the usual case costs one read and takes no lock
        if check_known(conn, where) == target:
            return
    with migration_connection(engine) as conn:
        check_known(conn, where)  # again under the lock: another process may have migrated
        _quiet_alembic()
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` ("base" drops every nasbench table)."""
    with migration_connection(engine) as conn:
        _quiet_alembic()
        command.downgrade(alembic_config(conn), revision)


def schema_diff(engine: Engine) -> list[Any]:
    """Differences between the database's nasbench tables and ``models.py`` (empty: they agree)."""
    from nasbench.store.models import Base

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
        return compare_metadata(context, Base.metadata)


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database's migration lock until it commits."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with _sqlite_locked(engine) as conn:
            yield conn
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Held to the end of the transaction; a second process waits here, then finds the
            # schema up to date. PostgreSQL's DDL is transactional, so the revisions commit at once.
            conn.execute(select(func.pg_advisory_xact_lock(PG_LOCK_KEY)))
        yield conn


@contextmanager
def _sqlite_locked(engine: Engine) -> Iterator[Connection]:
    # A connection of its own: Python's sqlite3 otherwise commits before each DDL statement and
    # starts transactions lazily. Here SQLAlchemy's BEGIN becomes BEGIN IMMEDIATE, which takes the
    # write lock at once (others wait up to busy_timeout), and tables plus revision commit together.
    locked = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(locked, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        # Off while migrating: SQLite's batch mode re-creates a table to alter it, and dropping
        # the old copy with foreign keys on would cascade-delete the rows that point at it.
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.close()

    @event.listens_for(locked, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locked.begin() as conn:
            yield conn
    finally:
        locked.dispose()


def _quiet_alembic() -> None:
    # Alembic logs each revision at INFO; a user's logging set-up would print them on every new database.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _new_revision(message: str) -> None:
    """Autogenerate the next numbered revision from the difference between the migrations and models.py."""
    next_id = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/head.db")
        upgrade(engine)
        with engine.begin() as conn:
            command.revision(alembic_config(conn), message=message, autogenerate=True, rev_id=next_id)
        engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m nasbench.store.migrate revision "what changes"')
    _new_revision(sys.argv[2])
