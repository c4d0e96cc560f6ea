"""Engines and sessions for the results database (SQLite by default, PostgreSQL for teams)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from nasbench.errors import StoreError
from nasbench.store.revisions import LEGACY_TABLE, check_known

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_DB = "sqlite:///nasbench.db"


def default_url() -> str:
    """$NASBENCH_DB if set, else ``nasbench.db`` in the working folder."""
    return os.environ.get("NASBENCH_DB", DEFAULT_DB)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, the whole password even in a malformed URL."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    if parsed is not None and "@" not in (parsed.host or ""):
        return parsed.render_as_string(hide_password=True)
    prefix, userinfo, rest = _split_authority(url)
    if ":" not in userinfo:
        return url
    return f"{prefix}{userinfo.partition(':')[0]}:***@{rest}"


def _split_authority(url: str) -> tuple[str, str, str]:
    """(``scheme://``, user info, the rest): split at the URL's last '@', as URL parsers split a netloc."""
    scheme, sep, after = url.partition("://")
    prefix, after = (scheme + sep, after) if sep else ("", url)
    userinfo, _, rest = after.rpartition("@")
    return prefix, userinfo, rest


def _port(url: str) -> str:
    """The port as written in ``url`` ('' if none)."""
    host_port = re.split(r"[/?]", _split_authority(url)[2], maxsplit=1)[0]
    return host_port.rsplit("]", 1)[-1].partition(":")[2]  # after an IPv6 [host]


def open_engine(url: str | None = None, create: bool = True) -> Engine:
    """Connect, and for writers bring the schema up to date; problems raise StoreError.

    ``create=True`` (commands that write results): a new SQLite file is created and the schema is
    upgraded to the newest revision (see ``nasbench.store.migrate``). ``create=False`` (commands that
    only read): nothing is created or changed, and a SQLite file that does not exist is an error.
    """
    url = url or default_url()
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:
        port = _port(url)
        if port and not port.isdigit():
            raise StoreError(f"database {mask_url(url)}: port {port!r} is not a number.") from e
        raise StoreError(f"--db {mask_url(url)!r} is not a database URL (e.g. sqlite:///nasbench.db).") from e
    if "@" in (parsed.host or ""):
        raise StoreError(f"database {mask_url(url)}: the password contains '@'; write it percent-encoded, '@' as %40.")
    path = _sqlite_file(parsed)
    if path is not None:
        if not path.parent.is_dir():
            raise StoreError(f"database {mask_url(url)}: folder {path.parent} does not exist.")
        if not create and not path.exists():
            raise StoreError(f"no results database at {path}.")
        if create and path.exists():
            _check_writable(path)
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError, SQLAlchemyError) as e:
        raise StoreError(f"database {mask_url(url)}: {e}.") from e
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        raise StoreError(f"database {mask_url(url)} is unreachable: {_first_line(e)}.") from e
    try:
        if create:
            from nasbench.store import migrate  # here: Alembic costs 0.1-0.3 s to import, and only writers need it

            migrate.upgrade(engine, where=mask_url(url))
        else:
            with engine.connect() as conn:
                check_known(conn, mask_url(url))
    except SQLAlchemyError as e:
        raise StoreError(f"database {mask_url(url)}: cannot bring its tables up to date: {_first_line(e)}.") from e
    return engine


def open_reader(url: str | None = None) -> Engine:
    """``open_engine(url, create=False)`` for commands that read results: a database without
    nasbench's tables (a new PostgreSQL database, an empty SQLite file) is refused in one sentence."""
    url = url or default_url()
    engine = open_engine(url, create=False)
    try:
        found = inspect(engine).has_table(LEGACY_TABLE)  # every nasbench schema, old or new, has it
    except SQLAlchemyError as e:
        raise StoreError(f"database {mask_url(url)}: {_first_line(e)}.") from e
    if not found:
        raise StoreError(f"database {mask_url(url)} holds no nasbench results yet (a search creates its tables).")
    return engine


def _sqlite_file(parsed: URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("uri") == "true" or parsed.database.startswith("file:"):
        return None  # sqlite3 URI filenames (mode=ro, ...) are left to SQLite
    return Path(parsed.database).expanduser().resolve()


def _check_writable(path: Path) -> None:
    """Refuse a SQLite file this process may not write: SQLite would open it read-only without a
    word, and the first write (Optuna's, in a search) would fail deep inside."""
    try:
        os.close(os.open(path, os.O_RDWR))  # as SQLite opens it, before it falls back to read-only
    except OSError as e:
        raise StoreError(
            f"database file {path} is read-only ({e.strerror}); this command records results and must write it."
        ) from e


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # First, so that the journal-mode switch below also waits for a concurrent opener.
    cur.execute("PRAGMA busy_timeout=30000")
    # WAL lets readers (query/report in other processes) run while the driver writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _first_line(e: Exception) -> str:
    return str(getattr(e, "orig", None) or e).strip().splitlines()[0].rstrip(".")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reading rows with SQLAlchemy Core (no ORM to import); database errors are
    re-raised as StoreError."""
    try:
        with engine.connect() as conn:
            yield conn
    except SQLAlchemyError as e:
        raise StoreError(f"database error: {_first_line(e)}.") from e


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back and re-raise as StoreError on failure."""
    from sqlalchemy.orm import Session  # here: the ORM costs ~0.1 s to import, and readers of rows skip it

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
