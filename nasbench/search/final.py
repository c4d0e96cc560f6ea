"""The final stage: the best searched architectures (by validation) re-trained at final fidelity, tested."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.data.spec import DataShape
from nasbench.search.config import FinalConfig
from nasbench.search.ledger import TrialStart, TrialSummary
from nasbench.search.messages import TrialRequest
from nasbench.search.searcher import Job, measure_on_meta
from nasbench.train.evaluate import Candidate


def final_selection(searched: list[TrialSummary], top_k: int, best_within: dict[str, float]) -> list[TrialSummary]:
    """The top-k distinct architectures by validation accuracy, then the best within each bound.

    Trials that trained to the end rank first, then those a scheduler stopped, by the epoch they
    reached (it judged them there), each group by validation accuracy, as the evolution sampler's
    tournaments rank; equal accuracies by validation loss (see ``choice_order``). A pruned trial
    thus never displaces a complete one, but a bound still finds its network when Hyperband
    stopped every candidate that small (small networks learn slower, so they are the first it
    stops). Rows without the bounded figure (e.g. no latency) never qualify.
    """
    ranked = sorted((t for t in searched if t.val_acc is not None), key=_rank)
    distinct: list[TrialSummary] = []
    for t in ranked:
        if t.digest not in {d.digest for d in distinct}:
            distinct.append(t)
    picked = distinct[:top_k]
    for key, bound in best_within.items():
        within = [t for t in distinct if (v := t.measure(key)) is not None and v <= bound][:1]
        if within and within[0].digest not in {p.digest for p in picked}:
            picked.append(within[0])
    return picked


ChoiceKey = tuple[bool, int, float, float, int]


def _rank(t: TrialSummary) -> ChoiceKey:
    return choice_order(t.state, t.epochs_run, t.val_acc, t.val_loss, t.number)


def choice_order(
    state: TrialState, epochs_run: int, val_acc: float | None, val_loss: float | None, number: int
) -> ChoiceKey:
    """The final stage's order of searched trials, smaller first: complete trials, then the epoch
    reached (later first), validation accuracy, validation loss, trial number. Reports read it on
    stored rows to know which final the search chose first when the finals measure no validation
    figure.

    The loss breaks ties because accuracy on a small validation split is coarse: on MNIST-1D's
    500 signals one signal is 0.2 points, and the best few candidates of a search often share
    the top figure exactly. The loss still tells them apart (how confidently right they are);
    the trial number, the earlier tie-break, says only which was sampled first."""
    # Stored figures are finite or None (EpochMetrics): no loss ranks after any loss.
    loss = math.inf if val_loss is None else val_loss
    return (state != TrialState.COMPLETE, -epochs_run, -(val_acc or 0.0), loss, number)


@dataclass(frozen=True)
class FinalPlan:
    """The final stage's work: the chosen architectures, the jobs still to train, and the trial
    numbers among them whose completed final was under another final protocol (trained again)."""

    chosen: list[TrialSummary]
    jobs: list[Job]
    again: list[int]


def final_jobs(
    searched: list[TrialSummary], finals: list[TrialSummary], final: FinalConfig, shape: DataShape, seed: int
) -> FinalPlan:
    """The chosen architectures, and the jobs for those without a completed final training at the
    final fidelity yet. A final trained at another fidelity (the study file's final protocol changed
    since) is trained again, and its new row replaces the old: a report describes the finals by the
    study's protocol, so every final it shows must have been trained by it."""
    complete = {t.number for t in finals if t.state == TrialState.COMPLETE}
    done = {t.number for t in finals if t.state == TrialState.COMPLETE and t.fidelity == final.fidelity}
    chosen = final_selection(searched, final.top_k, final.best_within)
    fidelity = final.fidelity
    jobs = []
    for t in chosen:
        if t.number in done or t.arch is None:
            continue
        params, flops = measure_on_meta(t.arch, shape, fidelity.resolution or t.arch.resolution)
        start = TrialStart(
            Stage.FINAL,
            t.number,
            t.arch.summary(),
            seed,
            fidelity,
            family=Family.SEARCHED,
            arch=t.arch,
            params=params,
            flops=flops,
        )
        jobs.append(Job(TrialRequest(Stage.FINAL, t.number, seed, Candidate(arch=t.arch), params, flops), start))
    again = sorted(j.request.number for j in jobs if j.request.number in complete)
    return FinalPlan(chosen, jobs, again)


def describe_final(n_chosen: int, final: FinalConfig) -> str:
    """The line the search prints as its final stage starts."""
    bounds = " and ".join(f"{_bound(v)} {key}" for key, v in final.best_within.items())
    within = f", and the best within {bounds}" if bounds else ""
    noun = "architecture" if n_chosen == 1 else "architectures"
    data = " on the training and validation splits" if final.fidelity.train_on_val else ""
    return (
        f"final training of {n_chosen} {noun} (top {final.top_k} by validation{within}) "
        f"at {final.fidelity.epochs_words()}{data} (test accuracy measured)"
    )


def _bound(value: float) -> str:
    """A bound as a reader writes it: 100,000 rather than 100000.0."""
    return f"{value:,.0f}" if value.is_integer() else f"{value:g}"
