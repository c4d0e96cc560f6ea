"""``report --compare``: studies on the same data set side by side; other data sets refused."""

from __future__ import annotations

import re
import sqlite3

import pytest

from nasbench.errors import ConfigError
from nasbench.report.compare import write_comparison
from tests.report.conftest import FAILED, MAIN, RANDOM, Studies
from tests.report.html_tables import table_by_id

pytestmark = pytest.mark.slow  # the studies fixture runs three real searches on Ray


def best_val(studies: Studies, study: str) -> float:
    con = sqlite3.connect(studies.db)
    (v,) = con.execute("select max(t.val_acc) from nb_trials t join nb_studies s on s.study_id = t.study_id "
                       "where s.name = ? and t.stage = 'search' and t.state = 'complete'", (study,)).fetchone()
    con.close()
    return v


def test_comparison_of_two_samplers(studies: Studies, tmp_path):
    md, html = write_comparison(studies.url, [RANDOM, MAIN], tmp_path, ["md", "html"])
    text = html.read_text()
    table = table_by_id(text, "comparison")
    by_study = {r.cells[0]: dict(zip(table.headers, r.cells)) for r in table.rows}
    assert set(by_study) == {MAIN, RANDOM}
    assert by_study[MAIN]["sampler"] == "tpe" and by_study[RANDOM]["sampler"] == "random"
    assert by_study[MAIN]["trials"] == "3" and by_study[RANDOM]["trials"] == "2"
    for name in (MAIN, RANDOM):
        assert by_study[name]["best val acc"] == f"{100 * best_val(studies, name):.2f}%"
    assert by_study[MAIN]["its test acc"].endswith("%") and by_study[RANDOM]["its test acc"] == ""
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', text)) == 1
    assert "| random |" in md.read_text()


def test_comparison_refuses_studies_on_different_data_sets(studies: Studies, tmp_path):
    with pytest.raises(ConfigError, match=r"'mnist1d-diverges' uses data set mnist1d .* uses digits .*same data set"):
        write_comparison(studies.url, [MAIN, FAILED], tmp_path)
    assert not list(tmp_path.iterdir())


def test_comparison_needs_two_different_studies(studies: Studies, tmp_path):
    with pytest.raises(ConfigError, match="at least two different studies"):
        write_comparison(studies.url, [MAIN, MAIN], tmp_path)
