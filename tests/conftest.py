"""Shared fixtures: one real local Ray per test session (starting Ray costs seconds)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def ray_local():
    """A real embedded Ray with this machine's CPUs; the search runner reuses it."""
    import ray

    from nasbench.search.runner import start_ray

    start_ray(None)
    yield ray
    ray.shutdown()


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
