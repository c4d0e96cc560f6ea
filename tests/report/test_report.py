"""The study report: files, leaderboard against the database, plots, documented rows, escaping."""

from __future__ import annotations

import re
import sqlite3

import pytest

from nasbench.errors import ConfigError
from nasbench.report import documented, plots
from nasbench.report.leaderboard import leaderboard, write_report
from nasbench.report.study import load_study_data
from nasbench.store import open_engine
from tests.report.conftest import FAILED, MAIN, MainReport, Studies
from tests.report.html_tables import table_by_id, tables

pytestmark = pytest.mark.slow  # the studies fixture runs three real searches on Ray

PNG = b"\x89PNG\r\n\x1a\n"


def db_trials(studies: Studies, study: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(studies.db)
    con.row_factory = sqlite3.Row
    rows = con.execute(
        "select t.number, t.stage, t.state, t.name, t.val_acc, t.test_acc, t.params, t.failure_reason, a.digest "
        "from nb_trials t join nb_studies s on s.study_id = t.study_id "
        "left join nb_architectures a on a.architecture_id = t.architecture_id where s.name = ?", (study,)).fetchall()
    con.close()
    return rows


def expected_board(rows: list[sqlite3.Row]) -> list[sqlite3.Row]:
    """Completed search trials, best first, one per architecture."""
    done = sorted((r for r in rows if r["stage"] == "search" and r["state"] == "complete"),
                  key=lambda r: (-r["val_acc"], r["number"]))
    seen, board = set(), []
    for r in done:
        if r["digest"] not in seen:
            seen.add(r["digest"])
            board.append(r)
    return board


def pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def test_report_writes_markdown_html_and_plots(main_report: MainReport):
    md, html = main_report.markdown.read_text(), main_report.html.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md)
    assert len(links) >= 4  # pareto, best so far, dimensions, learning curves (+ parallel coordinates)
    for link in links:
        assert (main_report.markdown.parent / link).read_bytes().startswith(PNG)
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == len(links)
    for key in ("pareto", "best_so_far", "dimensions", "learning_curves"):
        assert f'id="plot-{key}"' in html


def test_leaderboard_rows_match_the_database(studies: Studies, main_report: MainReport):
    rows = db_trials(studies, MAIN)
    expected = expected_board(rows)
    finals = {r["number"]: r for r in rows if r["stage"] == "final" and r["state"] == "complete"}
    assert len(expected) >= 2 and len(finals) == 1

    board = table_by_id(main_report.html.read_text(), "leaderboard")
    assert board.column("name") == [r["name"] for r in expected]
    # The finals measured validation; no supernet scored anything here: that column would be blank
    # in every row, so it is left out.
    assert {"final val acc", "latency (ms)"} <= set(board.headers)
    assert "shared-weight score" not in board.headers
    assert board.column("val acc") == [pct(r["val_acc"]) for r in expected]
    assert board.column("params") == [f"{r['params']:,}" for r in expected]
    assert set(board.column("family")) == {"searched"}
    # Test accuracy only where there was a final evaluation: the top architecture's re-training.
    assert board.column("test acc") == [pct(finals[r["number"]]["test_acc"]) if r["number"] in finals else ""
                                        for r in expected]
    assert expected[0]["number"] in finals

    md = main_report.markdown.read_text()
    for r in expected:
        assert f"`{r['name']}`" in md and pct(r["val_acc"]) in md


def test_documented_rows_are_marked_and_carry_no_measured_columns(main_report: MainReport):
    html = main_report.html.read_text()
    documented = [t for t in tables(html) if any(r.css == "documented" for r in t.rows)]
    assert documented, "no documented table"
    for t in documented:
        assert all(r.css == "documented" for r in t.rows)
        assert set(t.column("family")) == {"documented"}
        assert not {"val acc", "test acc", "FLOPs", "latency (ms)"} & set(t.headers)
    assert "ResNet-152" in documented[0].column("name")
    assert "documented" not in table_by_id(html, "leaderboard").column("family")
    assert "| LeNet-5 | documented |" in main_report.markdown.read_text()


def test_study_name_and_strings_are_escaped(main_report: MainReport):
    html = main_report.html.read_text()
    assert "main<script>&" not in html
    assert "main&lt;script&gt;&amp;.yaml" in html  # the study file, in the protocol
    assert html.count("<script") == 1  # the report's own sorter, nothing else
    md = main_report.markdown.read_text()
    assert "<script>" not in md and "main&lt;script&gt;&amp;.yaml" in md
    # Architecture summaries contain '>': escaped in HTML text.
    assert "s16 &gt; " in html


def test_html_needs_no_network(main_report: MainReport):
    html = main_report.html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<link" not in html and "@import" not in html
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'<img [^>]*src="([^"]*)"', html))


def test_summary_protocol_and_provenance(studies: Studies, main_report: MainReport):
    rows = db_trials(studies, MAIN)
    best = expected_board(rows)[0]
    final = next(r for r in rows if r["stage"] == "final")
    html = main_report.html.read_text()
    summary = re.search(r'<div class="summary">(.*?)</div>', html, re.S).group(1)
    assert f"reaches {pct(best['val_acc'])} validation accuracy ({pct(final['test_acc'])} test after final training)" \
        in summary
    assert f"trial {best['number']}" in summary and "tpe sampler" in summary
    for text in ("train 1,150 / validation 288 / test 359", "top 1 at epochs 1", "batch_size 64", "study 0, sampler 0",
                 "trials 3", "torch 2.", "data sha256"):
        assert text in html, text


def test_report_of_a_study_whose_trials_all_failed(studies: Studies, tmp_path):
    md, html = write_report(studies.url, FAILED, tmp_path, ["md", "html"])
    text = html.read_text()
    assert "No trial completed" in text and "no best network" in text
    assert "<img" not in text
    failures = table_by_id(text, "failures")
    reasons = failures.column("reason")
    assert len(reasons) == 2 and all(r.startswith("diverged: training loss became nan") for r in reasons)
    assert "| search | failed | diverged:" in md.read_text()


def test_bad_study_and_format_are_refused(studies: Studies, tmp_path):
    with pytest.raises(ConfigError, match=r"no study named 'nope'.*digits-random"):
        write_report(studies.url, "nope", tmp_path)
    with pytest.raises(ConfigError, match=r"--format 'pdf'"):
        write_report(studies.url, MAIN, tmp_path, ["pdf"])


def test_pareto_marks_documented_points_of_the_data_set(studies: Studies):
    board = leaderboard(load_study_data(open_engine(studies.url), MAIN))
    _, fashion = documented.dataset_rows("fashion_mnist")
    with_docs, without = plots.pareto(board, fashion), plots.pareto(board, fashion.iloc[:0])
    assert with_docs.png.startswith(PNG) and with_docs.png != without.png
