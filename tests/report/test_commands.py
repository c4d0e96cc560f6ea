"""The ``report`` command of the CLI: one study, or --compare several."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasbench.cli import app
from tests.report.conftest import FAILED, MAIN, RANDOM, Studies

pytestmark = pytest.mark.slow  # the studies fixture runs three real searches on Ray


def invoke(*args: str):
    return CliRunner().invoke(app, ["report", *args])


def test_report_command_writes_both_formats_by_default(studies: Studies, tmp_path: Path):
    run = invoke(MAIN, "--out", str(tmp_path), "--db", studies.url)
    assert run.exit_code == 0, run.output
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.is_file()) == [".html", ".md"]
    assert run.output.count("wrote ") == 2


def test_report_command_compares_studies(studies: Studies, tmp_path: Path):
    run = invoke("--compare", MAIN, RANDOM, "--format", "html", "--out", str(tmp_path), "--db", studies.url)
    assert run.exit_code == 0, run.output
    assert [p.name for p in tmp_path.glob("compare_*.html")]


def test_report_command_errors_are_one_line_with_exit_code_2(studies: Studies, tmp_path: Path):
    run = invoke("--compare", MAIN, FAILED, "--out", str(tmp_path), "--db", studies.url)
    assert run.exit_code == 2 and "only studies on the same data set can be compared" in run.output
    run = invoke("--out", str(tmp_path), "--db", studies.url)
    assert run.exit_code == 2 and "give one study name" in run.output
    run = invoke("--compare", MAIN, "--db", studies.url)
    assert run.exit_code == 2 and "at least two study names" in run.output
