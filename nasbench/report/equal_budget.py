"""Does the search beat random search and a hand-written network? A study's replicates side by side.

For every seed, the figure is the test accuracy of the network chosen by validation among the final
re-trainings (never by test): for the search (the study and its ``x@seedN`` replicates), for random
search at the same budget (``x@random-seedN``), and for each baseline the study trains under its
final protocol (hand-written or zoo), at the seed of the search study that trained it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine

from nasbench.report import format as fmt
from nasbench.store.reading import StudyRecord, related_studies

SEARCH = "search"
RANDOM = "random search"


@dataclass(frozen=True)
class Arm:
    """One competitor's test accuracy per seed (None: that seed's study has no final figure yet)."""

    name: str
    by_seed: dict[int, float | None]

    @property
    def values(self) -> list[float]:
        return [v for v in self.by_seed.values() if v is not None]

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def spread(self) -> float | None:
        """Sample standard deviation over seeds (None with fewer than two)."""
        return statistics.stdev(self.values) if len(self.values) >= 2 else None


@dataclass(frozen=True)
class EqualBudget:
    base: str  # the study the others replicate
    study_file: str
    replicates: int  # related studies besides the base
    arms: list[Arm] = field(default_factory=list)  # search, random search, then the baselines
    unfinished: dict[str, str] = field(default_factory=dict)  # study name -> status, for those not finished

    @property
    def seeds(self) -> list[int]:
        return sorted({s for a in self.arms for s in a.by_seed})

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)


def equal_budget(engine: Engine, study: str) -> EqualBudget:
    """Read ``study``'s family of related studies and each one's figure per seed."""
    records = related_studies(engine, study)
    this = next(r for r in records if r.study.name == study).study
    base_name = this.config.replicate.of if this.config.replicate is not None else this.name
    search: dict[int, float | None] = {}
    random: dict[int, float | None] = {}
    baselines: dict[str, dict[int, float | None]] = {}
    for r in records:
        cfg = r.study.config
        if cfg.replicate is not None and cfg.replicate.random:
            random[cfg.seed] = chosen_test_acc(r)
            continue
        search[cfg.seed] = chosen_test_acc(r)
        for name, acc in baseline_test_accs(r).items():
            baselines.setdefault(name, {})[cfg.seed] = acc
    arms = [Arm(SEARCH, search), Arm(RANDOM, random), *(Arm(n, v) for n, v in baselines.items())]
    file = next((r.study.study_file for r in records if r.study.name == base_name), this.study_file)
    unfinished = {r.study.name: r.study.status for r in records if r.study.status != "finished"}
    return EqualBudget(base_name, file, len(records) - 1, arms, unfinished)


def chosen_test_acc(record: StudyRecord) -> float | None:
    """Test accuracy of the network chosen by validation among the study's final re-trainings."""
    best = record.finals_by_validation.head(1)
    return None if best.empty or pd.isna(best.iloc[0]["test_acc"]) else float(best.iloc[0]["test_acc"])


def baseline_test_accs(record: StudyRecord) -> dict[str, float]:
    """Test accuracy of each baseline trained at the study's final protocol (its last run)."""
    cfg = record.study.config
    protocol = cfg.final.fidelity if cfg.final else cfg.fidelity
    base = record.baselines[record.baselines["test_acc"].notna()]
    at_protocol = pd.Series([protocol.same_as(f) for f in base["fidelity"]], index=base.index, dtype=bool)
    base = base.loc[at_protocol].sort_values("trial_id")
    return {str(r["name"]): float(r["test_acc"]) for _, r in base.iterrows()}


@dataclass(frozen=True)
class Paired:
    """The search against one competitor, seed by seed: the difference in test accuracy (search minus
    the other) on each seed both have a figure for. Seeds pair naturally: a seed fixes the search's
    draws, random search's, and the training of the baselines the search study of that seed trained."""

    diffs: dict[int, float]

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.diffs.values())

    @property
    def half_width(self) -> float:
        """Half the width of the 95% confidence interval of the mean difference (Student's t)."""
        return _t(self.n - 1) * statistics.stdev(self.diffs.values()) / math.sqrt(self.n)

    @property
    def interval(self) -> tuple[float, float]:
        return self.mean - self.half_width, self.mean + self.half_width

    def seeds_to_resolve(self, limit: int = 1000) -> int | None:
        """How many paired seeds it would take, at this spread of the differences, for the interval
        around a mean difference this large to exclude zero (None: more than ``limit``, or none)."""
        sd, size = statistics.stdev(self.diffs.values()), abs(self.mean)
        if size == 0:
            return None
        return next((n for n in range(2, limit + 1) if _t(n - 1) * sd / math.sqrt(n) < size), None)


def paired(search: Arm, other: Arm) -> Paired:
    diffs = {s: a - b for s, a in search.by_seed.items() if a is not None and (b := other.by_seed.get(s)) is not None}
    return Paired(dict(sorted(diffs.items())))


def _t(df: int) -> float:
    """Student's t quantile for a two-sided 95% interval with ``df`` degrees of freedom."""
    from scipy.stats import t  # imported here: only a report with replicates needs it

    return float(t.ppf(0.975, df))


def verdict(eb: EqualBudget) -> list[str]:
    """The answer in words, one sentence per competitor: the paired difference over the seeds both
    have, and whether its 95% interval excludes no difference. A difference compared with the
    spread of single seeds would call two lucky seeds a win, and never resolve a small real
    difference however many seeds were added; the interval of the paired mean narrows with seeds."""
    search = eb.arm(SEARCH)
    assert search is not None
    others = [a for a in eb.arms if a.name != SEARCH and a.values]
    if len(search.values) < 2:
        return [
            f"Not enough seeds: the search has a final test figure for {len(search.values)} seed(s); "
            "at least 2 are needed to tell a difference from seed noise."
        ]
    if not others:
        return ["Nothing to compare with yet: neither random search nor a baseline has a final test figure."]
    sentences = []
    for other in others:
        what = "random search at the same budget" if other.name == RANDOM else f"the baseline {other.name}"
        pair = paired(search, other)
        if pair.n < 2:
            sentences.append(f"Against {what}: not enough seeds that both have ({pair.n}; at least 2 are needed).")
            continue
        low, high = pair.interval
        if low > 0:
            claim = f"beats {what}"
        elif high < 0:
            claim = f"falls below {what}"
        else:
            claim = f"does not beat {what} beyond seed noise"
        sentence = (
            f"The search {claim}: over the {pair.n} seeds both have, the search's test accuracy minus the "
            f"other's is {100 * pair.mean:+.2f} points on average, 95% interval {100 * low:+.2f} to "
            f"{100 * high:+.2f} (seed by seed {', '.join(f'{100 * d:+.2f}' for d in pair.diffs.values())}); "
            f"mean {_pm(search)} against {_pm(other)}."
        )
        if low <= 0 <= high:
            needed = pair.seeds_to_resolve()
            sentence += (
                f" At this spread about {needed} paired seeds would be needed to show a difference of this size."
                if needed is not None
                else " At this spread not even 1,000 paired seeds would show a difference of this size."
            )
        sentences.append(sentence)
    return sentences


def _pm(arm: Arm) -> str:
    spread = f" ± {100 * arm.spread:.2f}" if arm.spread is not None else ""
    return f"{fmt.accuracy(arm.mean)}{spread}"


def replicate_command(eb: EqualBudget, seeds: list[int] | None = None) -> str:
    """The command that runs (or resumes) the replicates: ``seeds`` or, by default, 0,1,2."""
    listed = ",".join(map(str, seeds)) if seeds else "0,1,2"
    return f"nasbench replicate {eb.study_file or '<study file>'} --seeds {listed}"
