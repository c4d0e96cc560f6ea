"""Asynchronous, multi-fidelity replay: simulated workers, early stopping on the stored curves, its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from nasbench.cli import app as cli
from nasbench.errors import ConfigError
from nasbench.tabular.replay import Budget, ReplayRun, _quiet_optuna, _Simulated, replay, replay_all, results
from nasbench.tabular.schedulers import Simulation, parse_simulations
from nasbench.tabular.table import load_benchmark
from tests.tabular.synthetic import FLAT_SPACE, space_archs, synthetic_dict

runner = CliRunner()
BENCH = load_benchmark("mnist1d_tiny")


class RecordingSampler(optuna.samplers.RandomSampler):
    """Optuna's random sampler, noting which trials had finished when each trial was asked."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.known_at_ask: dict[int, set[int]] = {}

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        self.known_at_ask[trial.number] = {t.number for t in finished}


def simulate(sim: Simulation, budget: Budget, seed: int = 0) -> tuple[ReplayRun, optuna.Study, RecordingSampler]:
    """A replay of the shipped benchmark with a recording random sampler; the run, its study and sampler."""
    sampler = RecordingSampler(seed)
    run = ReplayRun(BENCH.name, "random", seed, float(BENCH.test_acc[:, -1].max()), simulation=sim)
    with _quiet_optuna():
        study = optuna.create_study(direction="maximize", sampler=sampler)
        _Simulated(BENCH, study, run, budget, False, len(BENCH.budgets) - 1).search()
    return run, study, sampler


@pytest.mark.parametrize("scheduler", ["none", "asha"])
def test_results_reach_the_sampler_in_simulated_time_order(scheduler: str) -> None:
    run, _, sampler = simulate(Simulation(scheduler, 4), Budget(trials=60))
    assert len(run.entry) == 60 and run.stopped == "trial budget spent"
    assert np.all(np.diff(run.time_s) >= 0)  # recorded as they end
    ended = dict(zip(run.number, run.time_s))
    for number, start in zip(run.number, run.start_s):
        # Asked when a worker came free: the sampler knew exactly the trials that had ended by then.
        assert sampler.known_at_ask[number] == {n for n, t in ended.items() if t <= start}
    # Four workers busy from the start, each trial starting when another ended.
    assert sorted(run.start_s)[:4] == [0.0] * 4 and 0.0 not in sorted(run.start_s)[4:]
    assert set(run.start_s) - {0.0} <= set(run.time_s)
    for t in np.linspace(0, run.time_s[-1], 200):
        assert sum(s <= t < e for s, e in zip(run.start_s, run.time_s)) <= 4


def test_stopped_trials_are_pruned_in_optuna_with_their_epochs_as_intermediate_values() -> None:
    run, study, _ = simulate(Simulation("asha", 4), Budget(trials=60))
    trials = {t.number: t for t in study.trials}
    curves = BENCH.curves["val_acc"]
    assert any(run.pruned) and not all(run.pruned)
    for number, i, epochs, pruned, val in zip(run.number, run.entry, run.epochs, run.pruned, run.val_acc):
        t = trials[number]
        assert t.state == (TrialState.PRUNED if pruned else TrialState.COMPLETE)
        assert sorted(t.intermediate_values) == list(range(1, epochs + 1))
        assert np.allclose([t.intermediate_values[e] for e in range(1, epochs)], curves[i, : epochs - 1])
        assert val == pytest.approx(curves[i, epochs - 1])  # the last value seen is the one recorded
        if not pruned:
            assert t.value == pytest.approx(BENCH.val_acc[i, -1]) and epochs == BENCH.budgets[-1]


def test_a_stopped_trial_frees_its_worker_at_the_end_of_its_last_epoch() -> None:
    run, _, _ = simulate(Simulation("asha", 2), Budget(trials=40))
    epoch_time, total = BENCH.curves["epoch_time_s"], BENCH.train_time_s[:, -1]
    for i, start, end, epochs in zip(run.entry, run.start_s, run.time_s, run.epochs):
        setup = max(0.0, total[i] - epoch_time[i].sum())  # the run's time outside epochs
        assert end - start == pytest.approx(setup + epoch_time[i, :epochs].sum())
        if epochs == BENCH.budgets[-1]:
            assert end - start == pytest.approx(total[i])  # trained to the end: its stored training time


def test_asha_stops_a_trial_at_a_rung_unless_it_is_in_the_top_third_recorded_there() -> None:
    # The rule, written out: rungs at 1 and 3 epochs (grace 1, reduction factor 3, 9 epochs); the
    # first trial to reach a rung goes on; a later one goes on unless its accuracy is below the
    # 2/3 quantile (linear interpolation) of the accuracies recorded at that rung before it.
    run = replay(BENCH, "random", 1, Budget(trials=80), simulation=Simulation("asha", 4))
    events = results(run, BENCH)
    assert set(np.array(run.epochs)[run.pruned]) <= {1, 3}
    recorded: dict[int, list[float]] = {1: [], 3: []}
    stopped_at: dict[int, int] = {}
    for e in events.itertuples():
        if e.epoch not in recorded or e.trial in stopped_at:
            continue
        before = recorded[e.epoch]
        if before and e.val_acc < np.percentile(before, (1 - 1 / 3) * 100):
            stopped_at[e.trial] = e.epoch
        before.append(e.val_acc)
    assert stopped_at  # the rule stopped trials here
    for k, (epochs, pruned) in enumerate(zip(run.epochs, run.pruned), start=1):
        assert stopped_at.get(k, 9) == epochs and pruned == (k in stopped_at)


def test_more_workers_finish_the_same_random_trials_sooner() -> None:
    # Random search proposes the same architectures whatever it has seen: with n workers the same
    # trials take at most (their total time) / n + the longest one (greedy list scheduling).
    one = replay(BENCH, "random", 2, Budget(trials=50), simulation=Simulation("none", 1))
    four = replay(BENCH, "random", 2, Budget(trials=50), simulation=Simulation("none", 4))
    assert sorted(one.entry) == sorted(four.entry)
    costs = BENCH.train_time_s[one.entry, -1]
    assert one.time_s[-1] == pytest.approx(costs.sum())
    assert four.time_s[-1] <= costs.sum() / 4 + costs.max()
    assert four.time_s[-1] < one.time_s[-1] / 3


def test_one_worker_without_a_scheduler_is_the_sequential_replay() -> None:
    for budget, dedup in [(Budget(trials=40), False), (Budget(seconds=150), True)]:
        sequential = replay(BENCH, "tpe", 3, budget, dedup=dedup)
        run = ReplayRun(BENCH.name, "tpe", 3, sequential.oracle_test_acc)
        with _quiet_optuna():
            study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(
                seed=3, n_startup_trials=5, multivariate=True, group=True))
            _Simulated(BENCH, study, run, budget, dedup, len(BENCH.budgets) - 1).search()
        assert (run.entry, run.time_s, run.best_test_acc, run.asks, run.stopped) == (
            sequential.entry, sequential.time_s, sequential.best_test_acc, sequential.asks, sequential.stopped)


def test_time_budget_counts_trials_that_end_within_it() -> None:
    run = replay(BENCH, "random", 0, Budget(seconds=60), simulation=Simulation("asha", 4))
    assert run.stopped == "time budget spent" and run.time_s[-1] <= 60
    longer = replay(BENCH, "random", 0, Budget(seconds=120), simulation=Simulation("asha", 4))
    assert longer.entry[: len(run.entry)] == run.entry  # the same search, run further


def test_hyperband_is_seeded_and_leaves_numpys_global_generator_alone() -> None:
    np.random.seed(11)
    expected = np.random.rand()
    np.random.seed(11)
    a = replay(BENCH, "tpe", 4, Budget(trials=40), simulation=Simulation("hyperband", 3))
    assert np.random.rand() == expected
    b = replay(BENCH, "tpe", 4, Budget(trials=40), simulation=Simulation("hyperband", 3))
    assert (a.entry, a.epochs, a.time_s) == (b.entry, b.epochs, b.time_s)


def test_median_rule_stops_only_from_the_grace_period_on() -> None:
    run = replay(BENCH, "random", 0, Budget(trials=60), simulation=Simulation("median", 4, grace_period=2))
    stopped = np.array(run.epochs)[run.pruned]
    assert stopped.size and stopped.min() >= 2


def test_dedup_never_trains_an_architecture_twice() -> None:
    run = replay(BENCH, "random", 0, Budget(trials=60), dedup=True, simulation=Simulation("asha", 4))
    assert len(set(run.entry)) == len(run.entry) == 60 and run.repeats > 0


@pytest.mark.parametrize(("sim", "message"), [
    (lambda: Simulation("successive"), "unknown scheduler 'successive'; choose one of: asha, hyperband, median, none"),
    (lambda: Simulation("none", 0), "--sim-workers must be at least 1, got 0."),
    (lambda: Simulation("asha", 2, reduction_factor=1), "--reduction-factor must be more than 1"),
    (lambda: parse_simulations("asha", "two"), "--sim-workers 'two'"),
])
def test_bad_simulations_are_one_clear_error(sim, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as e:
        sim()
    assert "\n" not in str(e.value)


def test_replay_all_checks_everything_before_the_first_replay() -> None:
    with pytest.raises(ConfigError, match="--grace-period 12 is more than the 9 epochs"):
        replay_all([BENCH], ["random"], 1, Budget(trials=5), simulations=(Simulation(), Simulation("asha", 1, 12)))
    with pytest.raises(ConfigError, match="--epochs 3 with --scheduler asha"):
        replay_all([BENCH], ["random"], 1, Budget(trials=5), epochs=3, simulations=(Simulation("asha"),))


def curveless_benchmark(path: Path) -> Path:
    archs = space_archs(FLAT_SPACE)
    d = synthetic_dict(archs, [0.5] * 20, [0.5] * 20, [1.0] * 20, name="curveless")
    for a in d["architectures"]:
        for r in a["runs"]:
            r["curve"] = {k: [] for k in r["curve"]}  # a table built without per-epoch records
    path.write_text(json.dumps(d))
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--scheduler", "asha"], "no per-epoch learning curve for 20 of its 20 trained architectures"),
    (["--scheduler", "early"], "unknown scheduler 'early'"),
    (["--samplers", "random,annealing"], "unknown sampler 'annealing'"),
    (["--sim-workers", "0"], "--sim-workers must be at least 1, got 0."),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    table = curveless_benchmark(tmp_path / "curveless.json")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["bench", "replay", str(table), "--seeds", "1", "--budget", "5trials",
                                 "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_a_table_without_curves_still_replays_with_workers_and_no_scheduler(tmp_path: Path) -> None:
    table = curveless_benchmark(tmp_path / "curveless.json")
    result = runner.invoke(cli, ["bench", "replay", str(table), "--samplers", "random", "--seeds", "2",
                                 "--budget", "10trials", "--sim-workers", "3", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output


@pytest.mark.slow  # several seconds: a CLI run over the whole shipped table
def test_cli_compares_samplers_schedulers_and_workers_on_the_shipped_table(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["bench", "replay", "mnist1d_tiny", "--samplers", "random,tpe", "--seeds", "3",
                                 "--budget", "40trials", "--scheduler", "none,asha", "--sim-workers", "1,4",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "24 replays" in result.output and "tpe, asha, 4 workers" in result.output
    ranking = pd.read_csv(tmp_path / "ranking.csv")
    assert set(ranking["method"]) == {"random", "tpe", "random, none, 4 workers", "tpe, none, 4 workers",
                                      "random, asha, 1 worker", "tpe, asha, 1 worker",
                                      "random, asha, 4 workers", "tpe, asha, 4 workers"}
    assert (ranking["seeds"] == 3).all()
    final = pd.read_csv(tmp_path / "final_regret.csv")
    assert (final.loc[final["scheduler"] == "asha", "pruned"] > 0).all()
    assert (final.loc[final["scheduler"] == "none", "pruned"] == 0).all()
    by_workers = final[final["scheduler"] == "none"].groupby("sim_workers")["time_s"].mean()
    assert by_workers[4] < by_workers[1] / 3  # the same number of trials, four at a time
    curve = pd.read_csv(tmp_path / "regret_vs_time.csv")
    assert set(curve["method"]) == set(ranking["method"]) and {"regret_lo", "regret_hi"} <= set(curve.columns)
    md = (tmp_path / "replay.md").read_text()
    assert "simulated wall time" in md and "stopped early" in md and "asha (grace period 1 epoch(s)" in md
    assert json.loads((tmp_path / "replay.json").read_text())["settings"]["simulations"][3] == {
        "scheduler": "asha", "workers": 4, "grace_period": 1, "reduction_factor": 3.0}
