"""Databases for the store tests: a new SQLite file, or a private schema on the real PostgreSQL server.

PostgreSQL needs NASBENCH_TEST_POSTGRES_URL (``scripts/start_postgres.sh`` starts a server and
prints one). The server is shared and outlives the tests, so each test gets a schema of its own
(selected through the connection's ``search_path``) and drops it afterwards.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.store.helpers import PG_URL, needs_postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose tables land in a new, empty schema of the test server."""
    if not PG_URL:
        pytest.skip("NASBENCH_TEST_POSTGRES_URL is not set")
    schema = f"nbt_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        gc.collect()  # closes the pooled connections of the test's engines
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a new SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return request.getfixturevalue("pg_url")
