"""Schema migrations on real SQLite files and the real PostgreSQL server: new databases, databases
written by the releases before migrations, round trips, concurrent openers and readers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from nasbench.errors import StoreError
from nasbench.space.architecture import Architecture, Stage
from nasbench.store import lease, load_epochs, load_trials, migrate, open_engine, records, revisions, session_scope
from nasbench.store import models as new
from nasbench.store.models import StudyRow
from tests.store import legacy_schema as old
from tests.store.helpers import run_together

optuna.logging.set_verbosity(optuna.logging.WARNING)

OURS_0001 = ["nb_studies", "nb_architectures", "nb_trials", "nb_epochs", "nb_benchmarks", "nb_bench_archs",
             "nb_bench_entries", "nb_bench_curves"]
OURS_HEAD = [*OURS_0001, "nb_study_leases", "nb_checkpoints"]
BENCH = OURS_0001[4:]
WHEN = dt.datetime(2024, 5, 1, 12, 30, 15, 123456)

# One row per table of the old schema, every column given, NULLs and awkward values included.
OLD_ROWS: dict[type, list[dict[str, Any]]] = {
    old.StudyRow: [dict(study_id=1, name="légacy study", created_at=WHEN,
                        config_json={"budget": {"trials": 3}, "seed": 0, "nested": [1, 2.5, None, "x"]},
                        study_file="name: légacy\n", study_file_hash="a" * 64, space_json={"stages": [{"w": 16}]},
                        dataset_json={"name": "digits", "hash": "0f" * 32}, split_json={"train": 1437, "val": 360},
                        elapsed_s=123.25, status="finished")],
    old.ArchitectureRow: [dict(architecture_id=7, digest="d" * 64, arch_json='{"stages": [{"block": "residual"}]}',
                               summary="residual x1 w16")],
    old.TrialRow: [
        dict(trial_id=11, study_id=1, number=0, stage="search", family="searched", name="residual x1 w16",
             architecture_id=7, state="complete", seed=3, fidelity_json={"epochs": 2}, params=12345,
             flops=2_000_000_000, latency_ms=0.75, val_acc=0.9125, val_loss=0.31, test_acc=0.9, test_loss=0.35,
             epochs_run=2, train_time_s=4.5, started_at=WHEN, finished_at=WHEN + dt.timedelta(seconds=5),
             failure_reason=None, traceback=None, worker="vm:123", provenance_json={"git": "7282676"},
             metrics_json={"synflow": 1.5e12}),
        dict(trial_id=12, study_id=1, number=-1, stage="final", family="baseline", name="resnet18",
             architecture_id=None, state="failed", seed=0, fidelity_json={}, params=None, flops=None,
             latency_ms=None, val_acc=None, val_loss=None, test_acc=None, test_loss=None, epochs_run=0,
             train_time_s=None, started_at=WHEN, finished_at=None, failure_reason="out of memory",
             traceback="Traceback (most recent call last):\n  ...", worker=None, provenance_json={},
             metrics_json={}),
    ],
    old.EpochRow: [dict(epoch_id=21, trial_id=11, epoch=1, train_loss=1.5, val_loss=1.25, val_acc=0.5,
                        epoch_time_s=2.0, train_samples_per_s=700.5),
                   dict(epoch_id=22, trial_id=11, epoch=2, train_loss=None, val_loss=0.31, val_acc=0.9125,
                        epoch_time_s=2.5, train_samples_per_s=None)],
    old.BenchmarkRow: [dict(benchmark_id=31, name="tiny-digits", created_at=WHEN, space_json={"stages": []},
                            data_json={"name": "digits", "options": {}}, dataset_json={"hash": "ab"},
                            split_json={"train": 10}, recipe_json={"lr": 0.05}, budgets_json=[1, 3],
                            seeds=2, sample_seed=0, threads=1, cardinality=None,
                            provenance_json={"git": "7282676"})],
    old.BenchArchRow: [dict(bench_arch_id=41, benchmark_id=31, architecture_id=7, position=0,
                            infeasible_reason=None, params=12345, flops=67890, latency_ms=0.5)],
    old.BenchRunRow: [dict(entry_id=51, bench_arch_id=41, epochs=3, seed=1, state="complete", val_acc=0.8,
                           val_loss=0.6, test_acc=0.79, test_loss=0.61, train_time_s=1.5, eval_time_s=0.1,
                           failure_reason=None, finished_at=WHEN)],
    old.BenchCurveRow: [dict(curve_id=61, entry_id=51, epoch=1, train_loss=0.9, val_loss=0.7, val_acc=0.75,
                             epoch_time_s=0.5)],
}
# The same tables in today's models.
NEW_CLASS = {old.StudyRow: new.StudyRow, old.ArchitectureRow: new.ArchitectureRow, old.TrialRow: new.TrialRow,
             old.EpochRow: new.EpochRow, old.BenchmarkRow: new.BenchmarkRow, old.BenchArchRow: new.BenchArchRow,
             old.BenchRunRow: new.BenchRunRow, old.BenchCurveRow: new.BenchCurveRow}


def write_old_database(url: str, bench: bool = True) -> None:
    """A database as the releases before migrations left it: their create_all, rows, and Optuna's tables."""
    engine = create_engine(url)
    tables = [old.Base.metadata.tables[name] for name in OURS_0001 if bench or name not in BENCH]
    old.Base.metadata.create_all(engine, tables=tables)
    with Session(engine) as s, s.begin():
        for cls, rows in OLD_ROWS.items():
            if cls.__tablename__ in {t.name for t in tables}:
                s.add_all(cls(**row) for row in rows)
    engine.dispose()
    optuna.create_study(study_name="légacy study", storage=url)  # Optuna's tables, its alembic_version too


def dump(url: str, tables: list[str]) -> dict[str, list[tuple]]:
    """Every row of ``tables`` as the database returns it, in key order: the columns of the release
    before migrations (later revisions add columns; those are checked apart)."""
    old_columns = {cls.__tablename__: [c.name for c in cls.__table__.columns] for cls in NEW_CLASS}
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {
            t: [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM {t} ORDER BY 1"))]
            for t in tables
            for columns in [", ".join(old_columns.get(t, ["*"]))]
        }
    engine.dispose()
    return out


def optuna_state(url: str) -> tuple[list[str], str | None]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = sorted(n for n in inspect(conn).get_table_names() if not n.startswith("nb_"))
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return names, version


def revision(engine) -> str | None:
    with engine.connect() as conn:
        return migrate.current_revision(conn)


def test_a_new_database_gets_every_table_at_the_newest_revision(db_url):
    engine = open_engine(db_url)
    assert set(OURS_HEAD) | {migrate.VERSION_TABLE} == set(inspect(engine).get_table_names())
    assert revision(engine) == migrate.head_revision() == revisions.known_revisions()[-1]
    assert migrate.schema_diff(engine) == []  # the migrations build exactly what models.py declares


def test_readers_know_the_revisions_alembic_knows():
    # Commands that only read check the database's revision without importing Alembic.
    alembic_order = [s.revision for s in reversed(list(migrate._script().walk_revisions()))]
    assert revisions.known_revisions() == alembic_order and len(alembic_order) >= 2


def test_a_database_of_the_release_before_migrations_opens_and_keeps_every_row(db_url):
    write_old_database(db_url)
    before, optuna_before = dump(db_url, OURS_0001), optuna_state(db_url)
    with create_engine(db_url).connect() as conn:
        assert migrate.is_legacy(conn)

    engine = open_engine(db_url)

    assert revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert not migrate.is_legacy(conn)
    assert migrate.schema_diff(engine) == []
    assert dump(db_url, OURS_0001) == before  # byte for byte, as the database returns them
    with Session(engine) as s:  # and through today's models, column by column
        for old_cls, rows in OLD_ROWS.items():
            cls = NEW_CLASS[old_cls]
            pk = cls.__mapper__.primary_key[0]
            objs = list(s.scalars(select(cls).order_by(pk)))
            got = [{c.key: getattr(obj, c.key) for c in old_cls.__table__.columns} for obj in objs]
            assert got == rows, cls.__tablename__
        # Revision 0003's column: every trial stored before it was trained from scratch.
        assert [t.evaluator for t in s.scalars(select(new.TrialRow))] == ["scratch"] * len(OLD_ROWS[old.TrialRow])
    assert optuna_state(db_url) == optuna_before  # Optuna's tables and revision untouched
    assert optuna.load_study(study_name="légacy study", storage=db_url).study_name == "légacy study"

    # Today's code reads and writes the old study as its own.
    trials = load_trials(engine, "légacy study")
    assert list(trials["number"]) == [-1, 0] and trials.set_index("number").loc[0, "val_acc"] == 0.9125
    assert list(load_epochs(engine, "légacy study")["epoch"]) == [1, 2]
    arch = Architecture(stages=(Stage("residual", 1, 16),))
    with session_scope(engine) as s:
        study = records.get_study(s, "légacy study")
        records.start_trial(s, study, 1, arch.summary(), {"epochs": 2}, seed=0, arch=arch)
    held = lease.acquire(engine, study_id=1)
    lease.release(engine, held)
    assert len(load_trials(engine, "légacy study")) == 3


def test_an_old_database_that_never_ran_a_benchmark_gets_the_benchmark_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    write_old_database(url, bench=False)
    before = dump(url, OURS_0001[:4])
    engine = open_engine(url)
    assert set(OURS_HEAD) <= set(inspect(engine).get_table_names())
    assert dump(url, OURS_0001[:4]) == before and migrate.schema_diff(engine) == []
    with session_scope(engine) as s:
        s.add(new.BenchmarkRow(name="b", space_json={}, data_json={}, dataset_json={}, split_json={},
                               recipe_json={}, budgets_json=[1], seeds=1, sample_seed=0, threads=1))


def test_a_database_lacking_a_column_of_the_old_schema_is_refused_and_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE nb_studies (study_id INTEGER PRIMARY KEY, name VARCHAR(255))"))
    with pytest.raises(StoreError, match="table nb_studies has no column created_at, config_json"):
        open_engine(url)
    assert set(inspect(engine).get_table_names()) == {"nb_studies"}  # nothing half-done


def test_upgrade_and_downgrade_round_trip_keeps_rows_and_leaves_optuna_alone(db_url):
    engine = open_engine(db_url)
    optuna.create_study(study_name="s", storage=db_url)
    optuna_before = optuna_state(db_url)
    with session_scope(engine) as s:
        s.add(StudyRow(name="s", config_json={"a": [1]}, space_json={}, dataset_json={}, split_json={}))
    held = lease.acquire(engine, 1)
    before = dump(db_url, OURS_0001)

    migrate.downgrade(engine, "0001")
    assert revision(engine) == "0001" and "nb_study_leases" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert revision(engine) == migrate.head_revision() and migrate.schema_diff(engine) == []
    assert dump(db_url, OURS_0001) == before
    assert lease.acquire(engine, 1).token != held.token  # the downgrade dropped the old lease

    migrate.downgrade(engine, "base")
    assert not [t for t in inspect(engine).get_table_names() if t.startswith("nb_") and t != migrate.VERSION_TABLE]
    assert revision(engine) is None and optuna_state(db_url) == optuna_before
    migrate.upgrade(engine)
    assert revision(engine) == migrate.head_revision() and migrate.schema_diff(engine) == []
    assert optuna_state(db_url) == optuna_before


def test_optuna_tables_never_count_as_ours(db_url):
    optuna.create_study(study_name="only-optuna", storage=db_url)  # Optuna first, then nasbench
    engine = open_engine(db_url)
    assert revision(engine) == migrate.head_revision()  # no mistaking Optuna's alembic_version for ours
    assert migrate.schema_diff(engine) == []
    with engine.connect() as conn:
        assert not migrate.is_legacy(conn)


def test_a_database_from_a_newer_nasbench_is_refused_by_writers_and_readers(db_url):
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'"))
    for create in (True, False):
        with pytest.raises(StoreError, match="schema revision 9999, newer than this nasbench knows"):
            open_engine(db_url, create=create)


@pytest.mark.slow
def test_processes_opening_a_new_database_at_once_create_it_once(db_url):
    runs = run_together("""
        engine = open_engine(URL)
        with engine.connect() as conn:
            print(migrate.current_revision(conn))
    """, n=3, URL=db_url)
    for r in runs:
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == migrate.head_revision()
    engine = open_engine(db_url, create=False)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {migrate.VERSION_TABLE}")).scalar() == 1
    assert migrate.schema_diff(engine) == []


def test_a_reader_refuses_a_missing_file_and_creates_nothing(tmp_path):
    path = tmp_path / "nope.db"
    with pytest.raises(StoreError) as err:
        open_engine(f"sqlite:///{path}", create=False)
    assert str(err.value) == f"no results database at {path}."
    assert not path.exists() and list(tmp_path.iterdir()) == []
    open_engine(f"sqlite:///{path}")  # a writer creates it
    assert path.exists()


def test_a_reader_creates_no_tables(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        (tmp_path / "results.db").touch()  # an empty file, as an interrupted first run may leave
    engine = open_engine(db_url, create=False)
    assert inspect(engine).get_table_names() == []
    with engine.connect() as conn:
        assert migrate.current_revision(conn) is None


def test_a_reader_leaves_an_old_database_as_it_is(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    write_old_database(url)
    before = dump(url, OURS_0001)
    engine = open_engine(url, create=False)
    assert load_trials(engine, "légacy study")["number"].tolist() == [-1, 0]
    with session_scope(engine) as s:
        assert lease.read_holder(s, 1) is None  # no lease table yet: no driver known
    names = inspect(engine).get_table_names()
    assert migrate.VERSION_TABLE not in names and "nb_study_leases" not in names
    assert dump(url, OURS_0001) == before


def test_old_schema_copy_is_todays_release(tmp_path):
    # The frozen copy must stay the schema of commit 7282676: revision 0001 alone builds the same.
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    migrate.downgrade(engine, "0001")
    legacy = f"sqlite:///{tmp_path / 'b.db'}"
    write_old_database(legacy)

    def shape(u: str) -> dict[str, Any]:
        insp = inspect(create_engine(u))
        def ordered(items: list) -> list:  # constraints have no order (a batch migration may reorder them)
            return sorted(items, key=lambda c: json.dumps(c, default=str, sort_keys=True))

        return {t: json.dumps([insp.get_columns(t), ordered(insp.get_unique_constraints(t)),
                               ordered(insp.get_foreign_keys(t)), insp.get_pk_constraint(t)],
                              default=str, sort_keys=True) for t in OURS_0001}

    assert shape(url) == shape(legacy)


def test_migrations_live_inside_the_package():
    versions = sorted(p.name for p in (migrate.MIGRATIONS / "versions").glob("0*.py"))
    assert versions == ["0001_initial.py", "0002_study_leases.py", "0003_supernet.py"]
    assert (migrate.MIGRATIONS / "env.py").is_file()
    assert Path(migrate.__file__).parent == migrate.MIGRATIONS.parent
