"""The final stage re-trains the top-k searched architectures by validation, and the best one within
each `final.best_within` bound (a small network the top-k would leave out); a resumed study never
re-trains a finalist whose final training is complete."""

from __future__ import annotations

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.data.spec import DataShape
from nasbench.search.config import FinalConfig, load_study
from nasbench.search.final import describe_final, final_jobs, final_selection
from nasbench.search.ledger import TrialSummary
from nasbench.search.runner import dispatch_for
from nasbench.space.notation import parse_architecture
from nasbench.train.recipe import Fidelity
from tests.conftest import write_study

SHAPE = DataShape(in_channels=1, num_classes=10, input_size=(40,))
BIG = parse_architecture("s32 > conv1x64k5 > conv1x128k3/2 > relu bn")
MID = parse_architecture("s16 > conv1x32k3 > conv1x64k3/2 > relu bn")
SMALL = parse_architecture("s8 > conv1x16k3 > relu bn")
TINY = parse_architecture("s8 > conv1x8k3 > relu bn")


def searched(
    number: int,
    arch,
    val_acc: float | None,
    params: int | None,
    pruned_at: int | None = None,
    val_loss: float | None = None,
) -> TrialSummary:
    return TrialSummary(
        Stage.SEARCH,
        number,
        Family.SEARCHED,
        arch.summary(),
        TrialState.COMPLETE if pruned_at is None else TrialState.PRUNED,
        Fidelity(epochs=27),
        arch=arch,
        params=params,
        val_acc=val_acc,
        val_loss=val_loss,
        epochs_run=27 if pruned_at is None else pruned_at,
    )


TRIALS = [
    searched(0, MID, 0.95, 30_000),
    searched(1, BIG, 0.97, 120_000),
    searched(2, BIG, 0.96, 120_000),  # the same architecture again, by another trial: one finalist
    searched(3, SMALL, 0.90, 2_000),
    searched(4, TINY, 0.91, None),  # no parameter count recorded: never within a parameter bound
    searched(5, MID, None, 30_000),  # no validation figure: never chosen
]


def test_the_top_k_are_distinct_architectures_by_validation_accuracy():
    assert [t.number for t in final_selection(TRIALS, 2, {})] == [1, 0]
    assert [t.number for t in final_selection(TRIALS, 10, {})] == [1, 0, 4, 3]
    # Ties in validation accuracy go to the earlier trial.
    tied = [searched(7, BIG, 0.9, 1), searched(6, MID, 0.9, 1)]
    assert [t.number for t in final_selection(tied, 1, {})] == [6]


def test_equal_validation_accuracy_goes_to_the_lower_validation_loss():
    """MNIST-1D's seed-7 search had four candidates at 0.992 on its 500 validation signals; the
    earliest of them was chosen, whatever its loss."""
    tied = [
        searched(2, MID, 0.992, 26_914, val_loss=0.029),
        searched(9, SMALL, 0.992, 2_000, val_loss=0.031),
        searched(39, BIG, 0.992, 55_474, val_loss=0.023),
        searched(40, TINY, 0.990, 1_000, val_loss=0.010),  # a lower loss, a lower accuracy: accuracy first
    ]
    assert [t.number for t in final_selection(tied, 2, {})] == [39, 2]
    assert [t.number for t in final_selection(tied, 1, {"params": 10_000})] == [39, 9]
    # A trial without a loss (none measured) ranks after its equals that have one, even an earlier one.
    assert [t.number for t in final_selection([searched(1, BIG, 0.992, 1), *tied[:1]], 1, {})] == [2]


def test_the_best_within_a_bound_joins_the_top_k_unless_it_is_already_there():
    assert [t.number for t in final_selection(TRIALS, 1, {"params": 50_000})] == [1, 0]
    assert [t.number for t in final_selection(TRIALS, 1, {"params": 10_000})] == [1, 3]
    assert [t.number for t in final_selection(TRIALS, 2, {"params": 50_000})] == [1, 0]  # no second copy
    assert [t.number for t in final_selection(TRIALS, 1, {"params": 100})] == [1]  # nothing that small
    assert [t.number for t in final_selection(TRIALS, 0, {"params": 10_000})] == [3]
    # A bound on a figure no trial has (latency was not measured): nothing qualifies.
    assert [t.number for t in final_selection(TRIALS, 1, {"latency_ms": 1e9})] == [1]


def test_pruned_trials_rank_after_complete_ones_by_the_epoch_they_reached():
    """Hyperband stops small networks first (they learn slower): in the MNIST-1D study of seed 0
    every candidate under 10,000 parameters was stopped at epoch 3 or 9, and the final stage,
    which read complete trials only, trained no small network at all."""
    big_done = searched(0, BIG, 0.95, 120_000)
    mid_pruned_late = searched(1, MID, 0.93, 30_000, pruned_at=9)
    small_pruned_late = searched(2, SMALL, 0.90, 2_000, pruned_at=9)
    tiny_pruned_early = searched(3, TINY, 0.97, 1_000, pruned_at=3)  # best value, but judged at epoch 3
    trials = [tiny_pruned_early, small_pruned_late, mid_pruned_late, big_done]
    # A pruned trial never displaces a complete one, whatever its value at the epoch it stopped.
    assert [t.number for t in final_selection(trials, 1, {})] == [0]
    assert [t.number for t in final_selection(trials, 4, {})] == [0, 1, 2, 3]
    # The bound finds its network among the pruned ones: the one that went furthest.
    assert [t.number for t in final_selection(trials, 1, {"params": 10_000})] == [0, 2]
    # A complete trial within the bound wins over a pruned one with a better value.
    small_done = searched(4, SMALL, 0.80, 2_500)
    assert [t.number for t in final_selection([*trials, small_done], 1, {"params": 10_000})] == [0, 4]


def test_final_jobs_train_each_finalist_once_at_the_final_fidelity_and_seed():
    cfg = FinalConfig(top_k=1, fidelity=Fidelity(epochs=60), best_within={"params": 10_000})
    plan = final_jobs(TRIALS, [], cfg, SHAPE, seed=7)
    assert [t.number for t in plan.chosen] == [1, 3]
    assert [j.request.number for j in plan.jobs] == [1, 3] and plan.again == []
    for job, arch in zip(plan.jobs, [BIG, SMALL], strict=True):
        assert job.request.stage == Stage.FINAL and job.request.seed == 7
        assert job.request.candidate.arch == arch
        assert job.start.fidelity == Fidelity(epochs=60) and job.start.family == Family.SEARCHED
        assert job.request.params is not None and job.request.params > 0

    # Resuming: the finalist whose final training completed is not trained again; a failed one is.
    done = searched(1, BIG, 0.97, 120_000)
    finals = [
        TrialSummary(Stage.FINAL, 1, Family.SEARCHED, BIG.summary(), TrialState.COMPLETE, Fidelity(epochs=60)),
        TrialSummary(Stage.FINAL, 3, Family.SEARCHED, SMALL.summary(), TrialState.FAILED, Fidelity(epochs=60)),
    ]
    plan = final_jobs([done, *TRIALS[1:]], finals, cfg, SHAPE, seed=7)
    assert [t.number for t in plan.chosen] == [1, 3]
    assert [j.request.number for j in plan.jobs] == [3] and plan.again == []

    # The study file's final protocol changed since: both are trained again, at the new fidelity;
    # the completed one is named as trained again (the failed one was never shown).
    longer = cfg.model_copy(update={"fidelity": Fidelity(epochs=60, time=2100)})
    plan = final_jobs([done, *TRIALS[1:]], finals, longer, SHAPE, seed=7)
    assert [j.request.number for j in plan.jobs] == [1, 3] and plan.again == [1]
    assert all(j.start.fidelity == longer.fidelity for j in plan.jobs)


def test_the_final_stage_says_what_it_trains_in_words():
    one = FinalConfig(top_k=1, fidelity=Fidelity(epochs=10), best_within={"params": 100_000.0})
    assert describe_final(1, one) == (
        "final training of 1 architecture (top 1 by validation, and the best within 100,000 params) "
        "at 10 epochs (test accuracy measured)"
    )
    two = FinalConfig(top_k=3, fidelity=Fidelity(epochs=60), best_within={"params": 10_000, "latency_ms": 0.5})
    assert describe_final(4, two) == (
        "final training of 4 architectures (top 3 by validation, and the best within 10,000 params and "
        "0.5 latency_ms) at 60 epochs (test accuracy measured)"
    )
    assert "best within" not in describe_final(3, FinalConfig(top_k=3))
    refit = FinalConfig(top_k=1, fidelity=Fidelity(epochs=60, train_on_val=True))
    assert describe_final(1, refit).endswith(
        "at 60 epochs on the training and validation splits (test accuracy measured)"
    )
    timed = FinalConfig(top_k=1, fidelity=Fidelity(epochs=12, time="35m"))
    assert describe_final(1, timed).endswith(
        "at up to 12 epochs, as many as fit in 35 min each (test accuracy measured)"
    )


# --- the final stage's CPUs ----------------------------------------------------------------------


def test_a_final_stage_with_spread_final_gives_its_jobs_the_idle_cpus_as_threads(tmp_path, ray_local):
    cpus = int(ray_local.cluster_resources()["CPU"])  # one node: the embedded local Ray
    spread = load_study(str(write_study(tmp_path, "spread", resources="{cpu: 1, spread_final: true}"))).config
    plain = load_study(str(write_study(tmp_path, "plain", resources="{cpu: 1}"))).config
    task = spread.data.load()

    def threads(cfg, stage: Stage, jobs: int) -> int:
        d = dispatch_for(cfg, task, stage, Fidelity(epochs=1), stage is Stage.FINAL, jobs)
        assert d.settings.evaluator.threads == d.resources.threads  # the evaluator trains with them
        return d.resources.threads

    assert threads(spread, Stage.FINAL, 1) == cpus  # one finalist: every CPU
    assert threads(spread, Stage.FINAL, cpus) == 1  # as many finalists as CPUs: one each
    assert threads(spread, Stage.FINAL, 2 * cpus) == 1  # more: never below the study's cpu
    assert threads(spread, Stage.SEARCH, 1) == 1  # a search fills the CPUs with trials instead
    assert threads(plain, Stage.FINAL, 1) == 1  # off unless the study asks
