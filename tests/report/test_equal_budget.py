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


def test_seed_replicates_without_random_search_ask_for_it_at_their_seeds():
    """`nasbench replicate ... --no-random` ran the study at seeds 0 and 1 with plain3: the hint asks
    for random search, not for replicates the database already has."""
    arms = [Arm(SEARCH, {0: 0.9337, 1: 0.9352}), Arm(RANDOM, {}), Arm("plain3", {0: 0.9032, 1: 0.9072})]
    eb = EqualBudget("fm", "studies/fm.yaml", 1, arms)
    md = section_md(eb)
    assert "No replicate of this study" not in md
    assert (
        "Random search at the same budget is not in the database yet. Run nasbench replicate studies/fm.yaml "
        "--seeds 0,1 to run it at these seeds" in md
    )


def test_finished_replicates_give_the_verdict_and_no_resume_hint():
    # Paired differences +2.0, +2.5, +2.5 points: mean 2.33, sd 0.29; t(0.975, 2) = 4.3027, so the
    # 95% interval is 2.33 -+ 4.3027 * 0.2887 / sqrt(3) = +1.62 to +3.05, above no difference.
    eb = EqualBudget(
        "m", "studies/m.yaml", 5, [Arm(SEARCH, {0: 0.99, 1: 0.98, 2: 0.97}), Arm(RANDOM, {0: 0.97, 1: 0.955, 2: 0.945})]
    )
    md = section_md(eb)
    assert "Not finished" not in md and "nasbench replicate" not in md
    assert "| mean | 98.00% | 95.67% |" in md and "| spread (sd, points) | 1.00 | 1.26 |" in md
    assert (
        "The search beats random search at the same budget: over the 3 seeds both have, the search's test accuracy "
        "minus the other's is +2.33 points on average, 95% interval +1.62 to +3.05 (seed by seed +2.00, +2.50, "
        "+2.50); mean 98.00% ± 1.00 against 95.67% ± 1.26." in md
    )
    assert "paired seeds would be needed" not in md


def test_two_seeds_that_agree_are_not_yet_a_win():
    # Fashion-MNIST's two seeds against plain3: +3.33 and +2.51 points. Their difference is four times
    # the spread of either arm, yet with two seeds the interval of the mean still spans zero.
    search = Arm(SEARCH, {0: 0.9325, 1: 0.9222})
    plain3 = Arm("plain3", {0: 0.8992, 1: 0.8971})
    [said] = verdict(EqualBudget("fm", "studies/fm.yaml", 1, [search, Arm(RANDOM, {}), plain3]))
    assert said.startswith("The search does not beat the baseline plain3 beyond seed noise: over the 2 seeds both have")
    assert "+2.92 points on average, 95% interval -2.29 to +8.13 (seed by seed +3.33, +2.51)" in said
    assert said.endswith("At this spread about 3 paired seeds would be needed to show a difference of this size.")


def test_a_small_steady_difference_over_many_seeds_is_resolved():
    # Each arm swings by about half a point from seed to seed, but the search leads random search on
    # every seed by 0.1-0.3 points: the paired interval resolves what the arms' spreads hide.
    base = [0.985, 0.992, 0.979, 0.990, 0.983, 0.995, 0.981, 0.988, 0.986, 0.993]
    lead = [0.002, 0.001, 0.003, 0.002, 0.001, 0.003, 0.002, 0.002, 0.001, 0.003]
    search = Arm(SEARCH, {s: b + d for s, (b, d) in enumerate(zip(base, lead, strict=True))})
    random = Arm(RANDOM, dict(enumerate(base)))
    assert random.spread is not None and random.spread > 0.004  # far above the 0.2-point lead
    [said] = verdict(EqualBudget("m", "studies/m.yaml", 10, [search, random]))
    assert said.startswith("The search beats random search at the same budget: over the 10 seeds both have")
    assert "+0.20 points on average, 95% interval +0.14 to +0.26" in said


def test_a_difference_within_seed_noise_is_no_verdict_either_way():
    # MNIST-1D over five seeds (2026-12-05): +0.08 points above random search, +0.16 above plain4.
    search = Arm(SEARCH, {0: 0.993, 1: 0.993, 2: 0.991, 3: 0.996, 4: 0.991})
    random = Arm(RANDOM, {0: 0.992, 1: 0.992, 2: 0.995, 3: 0.993, 4: 0.988})
    plain4 = Arm("plain4", {0: 0.993, 1: 0.992, 2: 0.988, 3: 0.989, 4: 0.994})
    worse = Arm("wide", {0: 0.999, 1: 0.998, 2: 0.997})  # trained on the first three seeds only
    said = verdict(EqualBudget("m", "studies/m.yaml", 0, [search, random, plain4, worse]))
    assert said[0].startswith("The search does not beat random search at the same budget beyond seed noise: ")
    assert "+0.08 points on average, 95% interval -0.28 to +0.44 (seed by seed +0.10, +0.10, -0.40, +0.30, +0.30)" in (
        said[0]
    )
    assert said[0].endswith("At this spread about 52 paired seeds would be needed to show a difference of this size.")
    assert said[1].startswith("The search does not beat the baseline plain4 beyond seed noise: ")
    # Paired over the seeds both have: -0.6, -0.5, -0.6 points, an interval wholly below zero.
    assert said[2].startswith("The search falls below the baseline wide: over the 3 seeds both have")
    assert "-0.57 points on average" in said[2] and "would be needed" not in said[2]


def test_a_competitor_with_one_shared_seed_gets_no_verdict():
    search = Arm(SEARCH, {0: 0.99, 1: 0.98})
    late = Arm("late", {1: 0.97, 2: 0.96})
    said = verdict(EqualBudget("m", "studies/m.yaml", 2, [search, Arm(RANDOM, {}), late]))
    assert said == ["Against the baseline late: not enough seeds that both have (1; at least 2 are needed)."]
