"""Bad input stops before any training with one sentence naming the file/field/value, a
non-zero exit, and no half-written study in the database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasbench.cli import app
from tests.conftest import write_study
from tests.store.conftest import db_url, pg_url  # noqa: F401 (fixtures: SQLite and PostgreSQL)

NASBENCH = [sys.executable, "-m", "nasbench.cli"]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI in-process (Typer's runner): same code path as the console script, no import cost."""
    result = CliRunner().invoke(app, args)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def no_study_rows(db: Path) -> bool:
    if not db.exists():
        return True
    con = sqlite3.connect(db)
    tables = {t for (t,) in con.execute("select name from sqlite_master where type='table'")}
    return "nb_studies" not in tables or con.execute("select count(*) from nb_studies").fetchone()[0] == 0


def one_sentence_error(stderr: str) -> str:
    text = " ".join(stderr.split())
    assert text.startswith("error: "), stderr
    assert "Traceback" not in stderr
    return text


@pytest.mark.parametrize("case, expect", [
    ("missing", "study file not found"),
    ("malformed", "not valid YAML (line"),
    ("unknown_sampler", "unknown sampler 'annealing'"),
    ("unknown_dataset", "unknown data set 'imagenet'"),
    ("unknown_field", "field 'epochz': unknown field"),
    ("bad_budget", "field 'budget"),
    ("missing_space", "search space file"),
    ("bad_space", "kernel sizes must be odd"),
])
def test_bad_study_files_stop_before_training(tmp_path, case, expect):
    db = tmp_path / "r.db"
    if case == "missing":
        path = tmp_path / "nope.yaml"
    elif case == "malformed":
        path = tmp_path / "bad.yaml"
        path.write_text("name: x\nbudget: {trials: 3\n  fidelity: [\n")
    elif case == "unknown_sampler":
        path = write_study(tmp_path, sampler="{name: annealing}")
    elif case == "unknown_dataset":
        path = write_study(tmp_path, data="{name: imagenet}")
    elif case == "unknown_field":
        path = write_study(tmp_path, epochz="3")
    elif case == "bad_budget":
        path = write_study(tmp_path, budget="{trials: -1}")
    elif case == "missing_space":
        path = write_study(tmp_path, space="no_such_space.yaml")
    else:
        space = tmp_path / "space.yaml"
        space.write_text("name: bad\nstage: {kernel: [2, 3], block: [plain, residual]}\n")
        path = write_study(tmp_path, space=str(space))
    r = run_cli(["search", str(path), "--db", f"sqlite:///{db}"], tmp_path)
    assert r.returncode != 0
    msg = one_sentence_error(r.stderr)
    assert expect in msg
    assert (space.name if case == "bad_space" else path.name) in msg
    assert no_study_rows(db)


@pytest.mark.parametrize("space, expect", [
    # Every stage empty: refused as a field of the space file.
    ("name: empty\nstage: {depth: [0], block: [plain]}\n", "depth must be >= 1"),
    # Valid on its own, but digits' 8x8 images cannot be halved six times: nothing can train.
    ("name: deep\nnum_stages: [6]\nstage: {depth: [1, 2], block: [plain], downsample: [stride]}\n",
     "none of 200 architectures sampled from space deep can be trained on digits (most often: input size 8 "
     "is too small for 6 downsamplings"),
])
def test_a_space_with_nothing_to_train_is_refused_at_load(tmp_path, space, expect):
    (tmp_path / "space.yaml").write_text(space)
    path = write_study(tmp_path, space=str(tmp_path / "space.yaml"))
    db = tmp_path / "r.db"
    r = run_cli(["search", str(path), "--db", f"sqlite:///{db}"], tmp_path)
    assert r.returncode == 2
    assert expect in one_sentence_error(r.stderr)
    assert no_study_rows(db)


@pytest.mark.slow  # a new process that imports the whole search stack first (several seconds)
def test_unreachable_database_is_named(tmp_path):
    # Through the real console entry point in a new process: exit code and stderr as a user sees them.
    path = write_study(tmp_path)
    url = "postgresql+psycopg://nasbench:secret@127.0.0.1:1/nowhere"
    r = subprocess.run([*NASBENCH, "search", str(path), "--db", url], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.returncode != 0
    msg = one_sentence_error(r.stderr)
    assert "unreachable" in msg and "127.0.0.1:1/nowhere" in msg
    assert "secret" not in msg  # the password is masked


def test_sqlite_folder_missing_is_named(tmp_path):
    path = write_study(tmp_path)
    r = run_cli(["search", str(path), "--db", f"sqlite:///{tmp_path}/no/such/dir/r.db"], tmp_path)
    assert r.returncode != 0
    assert "does not exist" in one_sentence_error(r.stderr)


def test_query_and_report_name_an_unknown_study(tmp_path):
    from nasbench.store import open_engine

    db = f"sqlite:///{tmp_path / 'r.db'}"
    open_engine(db).dispose()  # a database without that study (reads refuse a missing file)
    for args in (["query", "--study", "ghost", "--db", db], ["report", "ghost", "--db", db],
                 ["status", "ghost", "--db", db]):
        r = run_cli(args, tmp_path)
        assert r.returncode != 0
        assert "no study named 'ghost'" in one_sentence_error(r.stderr)


def test_non_numeric_port_is_named(tmp_path):
    url = "postgresql+psycopg://u:secret@127.0.0.1:5x/nb"
    r = subprocess.run([*NASBENCH, "status", "s", "--db", url], capture_output=True, text=True, cwd=tmp_path,
                       timeout=120)
    assert r.returncode != 0
    msg = one_sentence_error(r.stderr)
    assert "port '5x' is not a number" in msg and "127.0.0.1:5x/nb" in msg
    assert "secret" not in msg


def test_at_sign_in_password_is_masked_whole(tmp_path):
    from nasbench.store import mask_url

    url = "postgresql+psycopg://u:p@ss@127.0.0.1/nb"
    assert mask_url(url) == "postgresql+psycopg://u:***@127.0.0.1/nb"
    r = run_cli(["status", "s", "--db", url], tmp_path)
    assert r.returncode != 0
    msg = one_sentence_error(r.stderr)
    assert "u:***@127.0.0.1/nb" in msg and "%40" in msg  # tells how to write it
    assert "p@ss" not in msg and "***@ss" not in msg


@pytest.mark.parametrize("args", [
    ["status", "s"], ["query"], ["query", "--study", "s"], ["report", "s"], ["report", "--compare", "a", "b"],
    ["export", "s"], ["bench", "export", "b", "--out", "b.json"],
])
def test_read_commands_create_no_database(tmp_path, args):
    path = tmp_path / "r.db"
    r = run_cli([*args, "--db", f"sqlite:///{path}"], tmp_path)
    assert r.returncode != 0
    assert f"no results database at {path}" in one_sentence_error(r.stderr)
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, value, valid", [
    ("--state", "bogus", "running, complete, pruned, failed, infeasible, interrupted"),
    ("--family", "zoo", "searched, baseline"),
    ("--stage", "test", "search, final"),
])
def test_query_refuses_an_unknown_filter_value(tmp_path, option, value, valid):
    from nasbench.store import open_engine

    db = f"sqlite:///{tmp_path / 'r.db'}"
    open_engine(db).dispose()
    r = run_cli(["query", option, value, "--db", db], tmp_path)
    assert r.returncode != 0
    msg = one_sentence_error(r.stderr)
    assert f"{option} {value!r}" in msg and valid in msg
    assert "Empty DataFrame" not in r.stdout


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"x,y\n1,0\n2,1\n"])
def test_garbage_npz_file_is_named_as_not_an_archive(tmp_path, content):
    data = tmp_path / "data.npz"
    data.write_bytes(content)
    path = write_study(tmp_path, data=f"{{name: npz, options: {{path: {data}}}}}")
    db = tmp_path / "r.db"
    r = run_cli(["search", str(path), "--db", f"sqlite:///{db}"], tmp_path)
    assert r.returncode != 0
    msg = one_sentence_error(r.stderr)
    assert f"{data}: not a valid .npz archive" in msg and "pickle" not in msg
    assert msg.count(str(data)) == 1
    assert no_study_rows(db)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A real one-trial search on an .npz data set: (folder, database URL, data file)."""
    import numpy as np

    folder = tmp_path_factory.mktemp("searched")
    rng = np.random.default_rng(0)
    data = folder / "data.npz"
    np.savez(data, x=rng.random((60, 1, 8, 8), dtype=np.float32), y=np.arange(60) % 3)
    path = write_study(folder, data=f"{{name: npz, options: {{path: {data}}}}}", budget="{trials: 1}")
    db = f"sqlite:///{folder / 'r.db'}"
    r = subprocess.run([*NASBENCH, "search", str(path), "--db", db], capture_output=True, text=True, cwd=folder,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    return folder, db, data


@pytest.mark.slow  # its fixture runs a real search in a new process
def test_export_checks_before_it_announces_the_retraining(searched, tmp_path):
    _folder, db, data = searched
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    for args, expect in ((["--trial", "7"], "--trial 7"), (["--out", str(taken)], f"--out {taken}")):
        r = run_cli(["export", "s", *args, "--db", db], tmp_path)
        assert r.returncode != 0
        assert expect in one_sentence_error(r.stderr)
        assert "re-training" not in r.stdout
    assert taken.read_text() == "a file, not a folder"
    original = data.read_bytes()
    try:
        import numpy as np

        np.savez(data, x=np.zeros((60, 1, 8, 8), dtype=np.float32), y=np.arange(60) % 3)
        r = run_cli(["export", "s", "--out", str(tmp_path / "out"), "--db", db], tmp_path)
    finally:
        data.write_bytes(original)
    assert r.returncode != 0
    assert "the results were measured on" in one_sentence_error(r.stderr)
    assert "re-training" not in r.stdout and not (tmp_path / "out").exists()


@pytest.mark.slow  # its fixture runs a real search in a new process
def test_read_only_database_is_named(searched, tmp_path):
    import os
    import shutil

    folder, _, _ = searched
    db = tmp_path / "r.db"
    shutil.copyfile(folder / "r.db", db)
    db.chmod(0o444)  # stops other users; root needs the immutable attribute
    chattr = subprocess.run(["chattr", "+i", str(db)], capture_output=True)
    try:
        try:
            os.close(os.open(db, os.O_RDWR))
            pytest.skip("neither chmod nor chattr +i stops this user writing the file")
        except PermissionError:
            pass
        before = db.read_bytes()
        r = subprocess.run([*NASBENCH, "search", str(folder / "s.yaml"), "--db", f"sqlite:///{db}"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert r.returncode != 0
        msg = one_sentence_error(r.stderr)
        assert f"database file {db} is read-only" in msg
        assert db.read_bytes() == before
    finally:
        if chattr.returncode == 0:
            subprocess.run(["chattr", "-i", str(db)], check=True)


@pytest.mark.parametrize("args", [["status", "s"], ["query"], ["report", "s"], ["export", "s"]])
def test_read_commands_name_a_database_without_results(db_url, tmp_path, args):
    from sqlalchemy import create_engine, inspect

    if db_url.startswith("sqlite"):
        (tmp_path / "results.db").touch()  # an empty file, as an interrupted first run may leave
    r = run_cli([*args, "--db", db_url], tmp_path)
    assert r.returncode != 0
    assert "holds no nasbench results" in one_sentence_error(r.stderr)
    engine = create_engine(db_url)
    assert inspect(engine).get_table_names() == []  # the reader created nothing
    engine.dispose()
