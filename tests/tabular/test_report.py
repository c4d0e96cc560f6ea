"""The replay report: data files a user can load, Markdown, and a self-contained, escaped, sortable HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench.tabular.replay import Budget, replay_all
from nasbench.tabular.report import ReplaySettings, write_replay_report
from tests.report.html_tables import table_by_id
from tests.tabular.synthetic import synthetic_benchmark

VALUES = [0.50 + 0.02 * v for v in np.random.default_rng(7).permutation(20)]


def test_report_writes_data_markdown_and_self_contained_html(tmp_path: Path) -> None:
    benches = [synthetic_benchmark(VALUES, name="<script>alert(1)</script>"),
               synthetic_benchmark(VALUES[::-1], name="plain & simple")]
    budget = Budget(trials=8)
    runs = replay_all(benches, ["random", "evolution"], 3, budget)
    settings = ReplaySettings(("random", "evolution"), 3, budget, None, False, {})
    paths = write_replay_report(runs, benches, settings, tmp_path)
    names = {p.name for p in paths}
    assert {"replay.md", "replay.html", "replay.json", "ranking.csv", "leaderboard.csv", "regret_vs_trials.csv",
            "regret_vs_time.csv", "replay_trials.csv", "final_regret.csv"} <= names

    trials = pd.read_csv(tmp_path / "replay_trials.csv")
    assert len(trials) == 2 * 2 * 3 * 8
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert set(board["sampler"]) == {"random", "evolution"}
    assert {"rank:plain & simple", "regret:<script>alert(1)</script>"} <= set(board.columns)
    summary = json.loads((tmp_path / "replay.json").read_text())
    assert summary["settings"]["budget_trials"] == 8 and len(summary["ranking"]) == 4

    page = (tmp_path / "replay.html").read_text()
    assert page.count("<script") == 1 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # only its sorter
    assert "plain &amp; simple" in page
    sources = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http" not in page  # opens without a network
    ranking = table_by_id(page, "ranking_plain___simple")
    assert sorted(ranking.column("sampler")) == ["evolution", "random"] and ranking.column("rank") == ["1", "2"]
    assert set(ranking.column("worse")) <= {"yes", "no"}
    board = table_by_id(page, "leaderboard")
    assert board.headers == ["sampler", "mean rank", "<script>alert(1)</script>: rank / regret",
                             "plain & simple: rank / regret"]

    md = (tmp_path / "replay.md").read_text()
    assert "## Leaderboard" in md and md.count("![") == 4
    assert "<script>" not in md and "## &lt;script&gt;alert(1)&lt;/script&gt;" in md
    links = re.findall(r"\]\((plots/[^)]+)\)", md)
    assert len(links) == 4 and all((tmp_path / link).read_bytes().startswith(b"\x89PNG") for link in links)
    assert {p for p in paths if p.suffix == ".png"} == {tmp_path / link for link in links}
