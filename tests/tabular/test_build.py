"""``bench build`` trains into real SQLite tables, resumes without retraining, exports a loadable file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from nasbench.errors import ConfigError
from nasbench.store.db import open_engine, session_scope
from nasbench.tabular.build import BuildConfig, build_benchmark
from nasbench.tabular.models import BenchArchRow, BenchCurveRow, BenchmarkRow, BenchRunRow
from nasbench.tabular.table import export_benchmark, load_benchmark

SPACE = str(Path(__file__).resolve().parents[2] / "nasbench" / "tabular" / "data" / "mnist1d_tiny_space.yaml")


def config(n: int = 3, **changes) -> BuildConfig:
    return BuildConfig(**{"name": "tiny", "space_file": SPACE, "data": "mnist1d", "n": n, "budgets": (1, 2),
                          **changes})


def runs_table(url: str) -> dict[tuple[int, int, int], int]:
    with session_scope(open_engine(url)) as s:
        return {(r.bench_arch_id, r.epochs, r.seed): r.entry_id for r in s.scalars(select(BenchRunRow))}


@pytest.mark.slow
def test_build_writes_the_tables_resumes_and_exports(sqlite_url: str, tmp_path: Path) -> None:
    first = build_benchmark(config(), sqlite_url)
    assert (first.architectures, first.trained, first.skipped, first.failed) == (3, 6, 0, 0)
    with session_scope(open_engine(sqlite_url)) as s:
        assert s.scalar(select(func.count()).select_from(BenchmarkRow)) == 1
        archs = s.scalars(select(BenchArchRow)).all()
        assert len(archs) == 3 and all(a.params > 0 and a.flops > 0 and a.latency_ms > 0 for a in archs)
        runs = s.scalars(select(BenchRunRow)).all()
        assert sorted((r.epochs, r.seed) for r in runs) == [(1, 0)] * 3 + [(2, 0)] * 3
        assert all(r.state == "complete" and 0 <= r.val_acc <= 1 and 0 <= r.test_acc <= 1 for r in runs)
        assert s.scalar(select(func.count()).select_from(BenchCurveRow)) == 3 * (1 + 2)
    before = runs_table(sqlite_url)

    again = build_benchmark(config(), sqlite_url)
    assert (again.trained, again.skipped) == (0, 6)
    assert runs_table(sqlite_url) == before  # nothing retrained or rewritten

    lost = next(iter(before.values()))
    with session_scope(open_engine(sqlite_url)) as s:  # as if the build had died before this run
        s.execute(delete(BenchRunRow).where(BenchRunRow.entry_id == lost))
    resumed = build_benchmark(config(), sqlite_url)
    assert (resumed.trained, resumed.skipped) == (1, 5)

    grown = build_benchmark(config(n=4), sqlite_url)
    assert (grown.architectures, grown.trained, grown.skipped) == (4, 2, 6)

    path = export_benchmark("tiny", tmp_path / "tiny.json", sqlite_url)
    for bench in (load_benchmark(path), load_benchmark("tiny", sqlite_url)):
        assert len(bench) == 4 and bench.budgets == (1, 2) and not bench.exhaustive
        assert ((bench.val_acc >= 0) & (bench.val_acc <= 1)).all() and (bench.train_time_s > 0).all()
        assert bench.curves["val_acc"].shape == (4, 2)
        assert bench.curves["val_acc"][:, -1] == pytest.approx(bench.val_acc[:, -1])


@pytest.mark.slow
def test_resuming_with_other_settings_is_refused(sqlite_url: str) -> None:
    build_benchmark(config(n=1, budgets=(1,)), sqlite_url)
    with pytest.raises(ConfigError, match="--epochs"):
        build_benchmark(config(n=1, budgets=(1, 3)), sqlite_url)
    with pytest.raises(ConfigError, match="--seeds"):
        build_benchmark(config(n=1, budgets=(1,), seeds=2), sqlite_url)


@pytest.mark.parametrize(("changes", "message"), [({"n": 0}, "--n"), ({"budgets": (0, 2)}, "--epochs"),
                                                  ({"budgets": (2, 2)}, "--epochs"), ({"seeds": 0}, "--seeds")])
def test_bad_build_settings_name_the_option(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**changes)


def test_a_data_set_the_space_cannot_take_is_refused(sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match="2D"):
        build_benchmark(config(data="digits"), sqlite_url)
