"""The HTML report in a real browser: Debian's headless Chromium (scripts/setup.sh --test installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.report.conftest import MainReport
from tests.report.html_tables import table_by_id

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    assert exe, "chromium is not installed (scripts/setup.sh --test installs Debian's chromium package)"
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def console_messages(stderr: str) -> list[str]:
    """Lines Chromium logs for the page's console (errors, uncaught exceptions, console.* calls)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_report_renders_in_chromium_without_console_errors(main_report: MainReport, tmp_path: Path):
    shot = tmp_path / "report.png"
    run = chromium(tmp_path, "--window-size=1280,4000", f"--screenshot={shot}", main_report.html.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 50_000  # a rendered page, not a blank one

    dom = chromium(tmp_path, "--dump-dom", main_report.html.as_uri())
    assert dom.returncode == 0 and console_messages(dom.stderr) == []
    assert re.search(r'<body[^>]*data-ready="1"', dom.stdout), "the report's script did not finish"
    assert len(table_by_id(dom.stdout, "leaderboard").rows) >= 2


def test_leaderboard_sorts_in_the_browser(main_report: MainReport, tmp_path: Path):
    original = table_by_id(main_report.html.read_text(), "leaderboard")
    dom = chromium(tmp_path, "--dump-dom", main_report.html.as_uri() + "#sort=params")
    assert dom.returncode == 0 and console_messages(dom.stderr) == []
    board = table_by_id(dom.stdout, "leaderboard")
    params = [int(p.replace(",", "")) for p in board.column("params")]
    assert params == sorted(params)
    assert sorted(board.column("name")) == sorted(original.column("name"))  # same rows, reordered
    assert re.search(r'<th data-key="params" aria-sort="ascending">', dom.stdout)


def test_any_rendered_table_sorts_in_the_browser(tmp_path: Path):
    """The renderer's sorter on a document of its own: numbers by value, blanks last, text by text."""
    from nasbench.report.render import Column, Document, Row, Table, html, number

    values = [(10.0, "10"), (None, ""), (2.5, "2.5"), (100.0, "100")]
    table = Table((Column("name"), Column("value", "value", right=True)),
                  tuple(Row((f"r{i}", number(v, text))) for i, (v, text) in enumerate(values)), sortable=True, id="t")
    page = html.write(Document("Sorting", (table,)), tmp_path / "page.html")
    down = chromium(tmp_path, "--dump-dom", page.as_uri() + "#sort=-value")
    assert down.returncode == 0 and console_messages(down.stderr) == []
    assert table_by_id(down.stdout, "t").column("value") == ["100", "10", "2.5", ""]
    by_name = chromium(tmp_path, "--dump-dom", page.as_uri() + "#sort=name")
    assert table_by_id(by_name.stdout, "t").column("name") == ["r0", "r1", "r2", "r3"]
