"""The report's section "Does the search beat random search and a hand-written network?", from the
figures per seed: the table, the verdict in words, and what is still missing."""

from __future__ import annotations

from nasbench.report.equal_budget import RANDOM, SEARCH, Arm, EqualBudget, verdict
from nasbench.report.render import Document, markdown
from nasbench.report.study_report import EQUAL_TITLE, equal_budget_section


def section_md(eb: EqualBudget) -> str:
    return markdown.render(Document("r", (equal_budget_section(eb),)))


def test_a_stopped_replicate_is_named_with_the_command_that_resumes_it():
    eb = EqualBudget(
        "fm",
        "studies/fm.yaml",
        2,
        [Arm(SEARCH, {0: 0.9325, 1: None}), Arm(RANDOM, {0: 0.9314}), Arm("plain3", {0: 0.8992})],
        unfinished={"fm@seed1": "interrupted"},
    )
    md = section_md(eb)
    assert f"## {EQUAL_TITLE}" in md
    assert "| 0 | 93.25% | 93.14% | 89.92% |" in md and "| 1 | - | - | - |" in md
    assert "Not finished, so without a final figure yet: fm@seed1 (interrupted)." in md
    assert "nasbench replicate studies/fm.yaml --seeds 0,1 to resume any that stopped" in md
    assert verdict(eb) == [
        "Not enough seeds: the search has a final test figure for 1 seed(s); at least 2 are needed to tell a "
        "difference from seed noise."
    ]


def test_finished_replicates_give_the_verdict_and_no_resume_hint():
    eb = EqualBudget(
        "m", "studies/m.yaml", 5, [Arm(SEARCH, {0: 0.99, 1: 0.98, 2: 0.97}), Arm(RANDOM, {0: 0.96, 1: 0.95, 2: 0.97})]
    )
    md = section_md(eb)
    assert "Not finished" not in md and "nasbench replicate" not in md
    assert "| mean | 98.00% | 96.00% |" in md and "| spread (sd, points) | 1.00 | 1.00 |" in md
    assert (
        "The search beats random search at the same budget: mean test accuracy 98.00% ± 1.00 over 3 seeds against "
        "96.00% ± 1.00 over 3, a difference of +2.00 points, larger than the spread across seeds." in md
    )


def test_a_difference_within_the_seed_spread_is_no_verdict_either_way():
    # MNIST-1D over five seeds: +0.14 points above random search, +0.02 above plain4, sd 0.2-0.8.
    search = Arm(SEARCH, {0: 0.983, 1: 0.994, 2: 0.991, 3: 0.995, 4: 0.990})
    random = Arm(RANDOM, {0: 0.993, 1: 0.990, 2: 0.976, 3: 0.998, 4: 0.989})
    plain4 = Arm("plain4", {0: 0.992, 1: 0.988, 2: 0.988, 3: 0.992, 4: 0.992})
    worse = Arm("wide", {0: 0.999, 1: 0.999, 2: 0.998})
    said = verdict(EqualBudget("m", "studies/m.yaml", 0, [search, random, plain4, worse]))
    assert said[0].startswith("The search does not beat random search at the same budget beyond seed noise: ")
    assert said[0].endswith("a difference of +0.14 points, no larger than the spread across seeds.")
    assert said[1].startswith("The search does not beat the baseline plain4 beyond seed noise: ")
    assert said[2].startswith("The search falls below the baseline wide: ")
    assert said[2].endswith("larger than the spread across seeds.") and "no larger" not in said[2]
