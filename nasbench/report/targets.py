"""A study's targets, checked on final test accuracy without selecting on test data.

For each target the network is chosen by validation accuracy (of its final training, or of its
search trial when the final training trained on the validation split) among the searched networks
that had a final training and fit the target's bounds; its test accuracy is
then compared with the target. Met or not, the figure reached is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasbench.report.study import StudyData
from nasbench.store.reading import optional_float


@dataclass(frozen=True)
class TargetCheck:
    name: str
    wanted: float  # test accuracy, at least
    bounds: dict[str, float]
    number: int | None  # the chosen trial; None when no final network fits the bounds
    network: str | None
    params: float | None
    test_acc: float | None

    @property
    def met(self) -> bool:
        return self.test_acc is not None and self.test_acc >= self.wanted


def check_targets(data: StudyData) -> list[TargetCheck]:
    finals = data.finals_by_validation
    checks = []
    for target in data.study.config.targets:
        bounds = {k: v for k, v in (("params", target.params), ("flops", target.flops)) if v is not None}
        fit = finals
        for key, bound in bounds.items():
            fit = fit[fit[key].notna() & (fit[key] <= bound)]
        best = fit.head(1)
        if best.empty:
            checks.append(TargetCheck(target.name, target.test_acc, bounds, None, None, None, None))
            continue
        r = best.iloc[0]
        checks.append(
            TargetCheck(
                target.name,
                target.test_acc,
                bounds,
                int(r["number"]),
                str(r["name"]),
                optional_float(r["params"]),
                optional_float(r["test_acc"]),
            )
        )
    return checks


def describe(check: TargetCheck) -> str:
    """One sentence: met or not, and the figure reached."""
    within = "".join(f", {k} ≤ {v:,.0f}" for k, v in check.bounds.items())
    if check.number is None:
        return (
            f"{check.name} (test accuracy ≥ {100 * check.wanted:.2f}%{within}): NOT MET — no network within "
            "the bounds had a final training."
        )
    assert check.test_acc is not None  # a final training always measures test accuracy
    verdict = "met" if check.met else "NOT MET"
    return (
        f"{check.name} (test accuracy ≥ {100 * check.wanted:.2f}%{within}): {verdict} — trial {check.number} "
        f"({check.params:,.0f} params), chosen by validation, reaches {100 * check.test_acc:.2f}% test."
    )
