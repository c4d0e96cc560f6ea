"""The results store on a real SQLite file: schema, writes, reads, errors."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import inspect, text

from nasbench.errors import ConfigError, StoreError
from nasbench.space.architecture import Architecture, Stage
from nasbench.store import load_epochs, load_trials, mask_url, open_engine, records, session_scope
from nasbench.store.models import StudyRow
from nasbench.train.metrics import EpochMetrics


def make_study(s, name: str = "st") -> StudyRow:
    row = StudyRow(name=name, config_json={"k": 1}, space_json={}, dataset_json={"name": "digits"}, split_json={})
    s.add(row)
    s.flush()
    return row


ARCH = Architecture(stages=(Stage("residual", 1, 16), Stage("plain", 2, 32, downsample="stride")))


def test_tables_are_prefixed_and_wal_is_on(sqlite_url):
    engine = open_engine(sqlite_url)
    tables = set(inspect(engine).get_table_names())
    assert {"nb_studies", "nb_architectures", "nb_trials", "nb_epochs"} <= tables
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_trial_lifecycle_and_dataframes(sqlite_url):
    engine = open_engine(sqlite_url)
    with session_scope(engine) as s:
        study = make_study(s)
        t = records.start_trial(s, study, 0, ARCH.summary(), {"epochs": 2}, seed=3, arch=ARCH, params=10, flops=20)
        records.add_epoch(s, t, EpochMetrics(1, train_loss=2.0, val_loss=1.5, val_acc=0.4, epoch_time_s=3.0,
                                             train_samples_per_s=None))
        records.add_epoch(s, t, EpochMetrics(2, train_loss=float("nan"), val_loss=1.0, val_acc=0.6, epoch_time_s=3.0,
                                             train_samples_per_s=None))
        records.finish_trial(s, t, "complete", val_acc=0.6, test_acc=float("inf"))
        # The same architecture in a second trial shares one architecture row.
        records.start_trial(s, study, 1, ARCH.summary(), {"epochs": 2}, seed=3, arch=ARCH)
    df = load_trials(sqlite_url, study="st")
    assert list(df["number"]) == [0, 1]
    first = df.iloc[0]
    assert first["state"] == "complete" and first["val_acc"] == 0.6 and first["epochs_run"] == 2
    assert first["test_acc"] is None or math.isnan(first["test_acc"])  # inf is stored as NULL
    assert df["digest"].nunique() == 1 and first["digest"] == ARCH.digest()
    ep = load_epochs(sqlite_url, study="st")
    assert list(ep["epoch"]) == [1, 2] and math.isnan(ep["train_loss"].iloc[1])


def test_pandas_readers_give_nullable_integers_and_name_what_is_missing(sqlite_url, tmp_path):
    engine = open_engine(sqlite_url)
    with session_scope(engine) as s:
        study = make_study(s)
        records.start_trial(s, study, 0, ARCH.summary(), {"epochs": 1}, seed=3, arch=ARCH, params=1234, flops=99)
        records.start_trial(s, study, 1, "infeasible", {"epochs": 1}, seed=3, state="infeasible")
    df = load_trials(sqlite_url, study="st")
    # Counts stay integers (as in the CLI's parquet) even where one is missing.
    for column in ("number", "params", "flops", "seed", "epochs_run"):
        assert str(df[column].dtype) == "Int64", column
    assert df["params"].iloc[0] == 1234 and df["params"].isna().iloc[1]
    with pytest.raises(ConfigError, match=r"no study named 'sT'.*studies: st"):
        load_trials(sqlite_url, study="sT")
    with pytest.raises(ConfigError, match="no study named 'ghost'"):
        load_epochs(sqlite_url, study="ghost")
    # A mistyped path is named, and no empty database is left there.
    typo = tmp_path / "nasbnech.db"
    with pytest.raises(StoreError, match=f"no results database at {typo}"):
        load_trials(f"sqlite:///{typo}")
    assert not typo.exists()


def test_restarting_a_trial_number_replaces_the_unfinished_row(sqlite_url):
    engine = open_engine(sqlite_url)
    with session_scope(engine) as s:
        study = make_study(s)
        records.start_trial(s, study, 5, "a", {}, 0, arch=ARCH)
        records.start_trial(s, study, 5, "a", {}, 0, arch=ARCH)
        assert records.count_trials(s, study, ("running",)) == 1


def test_duplicate_study_name_raises_store_error(sqlite_url):
    engine = open_engine(sqlite_url)
    with session_scope(engine) as s:
        make_study(s, "dup")
    with pytest.raises(StoreError, match="database error"), session_scope(engine) as s:
        make_study(s, "dup")


def test_bad_urls(tmp_path):
    with pytest.raises(StoreError, match="not a database URL"):
        open_engine("not a url")
    with pytest.raises(StoreError, match="does not exist"):
        open_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    assert mask_url("postgresql+psycopg://u:pw@h:5432/d") == "postgresql+psycopg://u:***@h:5432/d"
