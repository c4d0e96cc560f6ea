"""Shared fixtures: one real local Ray per test session (starting Ray costs seconds), and a fresh
PostgreSQL database per test session when a server is given."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
PG_ENV = "NASBENCH_TEST_POSTGRES_URL"
_fresh_database: tuple[str, str] | None = None  # (server URL as given, database made for this run)


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def pytest_configure(config: pytest.Config) -> None:
    """Point the PostgreSQL tests at a database made for this run, not the server's shared one.

    The server outlives test runs, and runs of different checkouts share it: a run that migrated
    the shared database to a newer schema made an older checkout's run fail. A fresh database per
    run (dropped at the end) keeps every run's schema its own. This runs before test modules are
    imported, so module-level reads of the variable (and subprocesses) see the fresh database.
    """
    global _fresh_database
    url = os.environ.get(PG_ENV)
    if not url or _fresh_database is not None:
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"nb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    fresh = make_url(url).set(database=name).render_as_string(hide_password=False)
    _fresh_database = (url, name)
    os.environ[PG_ENV] = fresh


def pytest_unconfigure(config: pytest.Config) -> None:
    global _fresh_database
    if _fresh_database is None:
        return
    url, name = _fresh_database
    import psycopg

    os.environ[PG_ENV] = url
    _fresh_database = None
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def ray_local():
    """A real embedded Ray with this machine's CPUs; the search runner reuses it."""
    import ray

    from nasbench.search.runner import start_ray

    start_ray(None)
    yield ray
    ray.shutdown()


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread, restored afterwards: the test machine's few cores are shared, and torch's
    thread pool then spins (seconds per pass of a small network instead of milliseconds). The test
    folders that run networks use it for every test (their conftest.py)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


def write_study(folder: Path, name: str = "s", **overrides: str) -> Path:
    """A digits study file in ``folder`` using the shipped tiny space; ``overrides`` replace lines."""
    fields = {
        "name": name,
        "space": str(ROOT / "search_spaces" / "tiny.yaml"),
        "data": "{name: digits, val_size: 0.2}",
        "sampler": "{name: tpe}",
        "budget": "{trials: 3}",
        "fidelity": "{epochs: 1}",
        "recipe": "{batch_size: 64}",
        "resources": "{cpu: 1}",
        "seed": "0",
    }
    fields.update(overrides)
    path = folder / f"{name}.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None))
    return path
