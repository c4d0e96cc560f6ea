"""Engines and sessions for the results database (SQLite by default, PostgreSQL for teams)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from nasbench.errors import StoreError
from nasbench.store.models import Base

DEFAULT_DB = "sqlite:///nasbench.db"


def default_url() -> str:
    """$NASBENCH_DB if set, else ``nasbench.db`` in the working folder."""
    return os.environ.get("NASBENCH_DB", DEFAULT_DB)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def open_engine(url: str | None = None, create: bool = True) -> Engine:
    """Connect (and create our tables); an unreachable database raises StoreError."""
    url = url or default_url()
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"--db {url!r} is not a database URL (e.g. sqlite:///nasbench.db).") from e
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise StoreError(f"database {mask_url(url)}: folder {folder} does not exist.")
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError, SQLAlchemyError) as e:
        raise StoreError(f"database {mask_url(url)}: {e}.") from e
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if create:
            Base.metadata.create_all(engine)
    except SQLAlchemyError as e:
        raise StoreError(f"database {mask_url(url)} is unreachable: {_first_line(e)}.") from e
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers (query/report in other processes) run while the driver writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _first_line(e: Exception) -> str:
    return str(getattr(e, "orig", None) or e).strip().splitlines()[0].rstrip(".")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back and re-raise as StoreError on failure."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except SQLAlchemyError as e:
        session.rollback()
        raise StoreError(f"database error: {_first_line(e)}.") from e
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
