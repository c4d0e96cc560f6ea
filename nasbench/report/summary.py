"""A short summary of a study in words, generated from its leaderboard."""

from __future__ import annotations

import pandas as pd

from nasbench.core.enums import Family, Stage
from nasbench.report import format as fmt
from nasbench.report.study import StudyData

REFERENCE_BASELINE = "resnet18"  # compared against when the study trained it


def summary_sentences(data: StudyData, board: pd.DataFrame) -> list[str]:
    """Plain-text sentences (callers escape them for their format)."""
    sentences = [_counts_sentence(data)]
    searched = board[board["family"] == Family.SEARCHED]
    if searched.empty:
        return [
            *sentences,
            "No searched architecture completed training, so there is no best network; "
            "the failures and their reasons are listed below.",
        ]
    best = searched.iloc[0]
    sentences.append(_best_sentence(best))
    baselines = board[board["family"] != Family.SEARCHED]
    if len(baselines):
        ref = _reference(baselines)
        sentences.append(_baseline_sentence(best, ref, _fidelity_words(data, ref)))
    return sentences


def _counts_sentence(data: StudyData) -> str:
    t = data.trials
    search = t[(t["stage"] == Stage.SEARCH) & (t["family"] == Family.SEARCHED)]
    counts = search["state"].value_counts()
    detail = ", ".join(f"{n} {state}" for state, n in counts.items()) or "none run"
    ds = data.study.dataset.name
    return (
        f"Study {data.study.name} sampled {len(search)} architectures on {ds} with the "
        f"{data.study.config.sampler.name} sampler ({detail}); it took {data.study.elapsed_s:,.0f} s of wall time "
        "in all (every stage and every run of the study; not the seconds each run spends loading data and "
        "starting Ray before it and stopping Ray after, which the command's wall time includes and the time "
        "budget does not)."
    )


def _best_sentence(best: pd.Series) -> str:
    test = (
        f" ({fmt.accuracy(best['test_acc'])} test after final training)"
        if pd.notna(best["test_acc"])
        else " (it had no final training, so no test accuracy is reported)"
    )
    return (
        f"The best searched network (trial {best['number']}, {best['name']}) reaches "
        f"{fmt.accuracy(best['val_acc'], blank='-')} validation accuracy{test} with "
        f"{fmt.compact(best['params'])} parameters and {fmt.compact(best['flops'])} FLOPs."
    )


def _reference(baselines: pd.DataFrame) -> pd.Series:
    named = baselines[baselines["name"] == REFERENCE_BASELINE]
    return named.iloc[0] if len(named) else baselines.iloc[0]


def _fidelity_words(data: StudyData, ref: pd.Series) -> str:
    """Which of the study's budgets the baseline was trained at, in words."""
    t = data.trials
    rows = t[(t["family"] == Family.BASELINE) & (t["number"] == ref["number"])]
    fidelity = rows.iloc[0]["fidelity"] if len(rows) else None
    final = data.study.config.final
    if fidelity is not None and final is not None and final.fidelity.same_as(fidelity):
        return "under the same protocol at the final training's budget"
    if fidelity is not None and data.study.config.fidelity.same_as(fidelity):
        return (
            "under the same protocol at the search's budget (each searched candidate's; compare it with "
            "the searched networks' validation accuracy at search fidelity)"
        )
    return "under the same protocol"


def _baseline_sentence(best: pd.Series, ref: pd.Series, protocol: str = "under the same protocol") -> str:
    if pd.isna(best["params"]) or pd.isna(ref["params"]) or not best["params"] or not ref["params"]:
        ratio = "compared with"
    elif round(max(ref["params"], best["params"]) / min(ref["params"], best["params"]), 1) == 1.0:
        ratio = "about as many parameters as"  # "1.0x fewer" says nothing a reader can use
    elif ref["params"] >= best["params"]:
        ratio = f"{ref['params'] / best['params']:.1f}x fewer parameters than"
    else:
        ratio = f"{best['params'] / ref['params']:.1f}x more parameters than"
    figures = [
        f"{fmt.accuracy(ref[col])} {words}"
        for col, words in (("val_acc", "validation"), ("test_acc", "test"))
        if pd.notna(ref[col])
    ]  # a baseline trained on the validation split has no validation figure
    return (
        f"That is {ratio} the {ref['name']} {ref['family']} ({fmt.compact(ref['params'])} parameters), which reaches "
        f"{', '.join(figures) or 'no measured accuracy'} {protocol}."
    )
