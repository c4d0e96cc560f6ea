"""Supernet training through the Lightning module: it resumes from its checkpoint without repeating
an epoch, and a path is scored by inherited weights after BatchNorm recalibration."""

from __future__ import annotations

import pytest
import torch

from nasbench.core.enums import EvaluatorKind
from nasbench.data.spec import DataSpec
from nasbench.tabular.table import load_benchmark
from nasbench.train.evaluate import Candidate
from nasbench.train.recipe import Fidelity, Recipe
from nasbench.train.supernet import (
    PathSampler,
    SupernetEvaluator,
    SupernetSettings,
    checkpoint_history,
    train_supernet,
)


class MemoryStore:
    """A CheckpointStore in memory (the search keeps it in the results database)."""

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.epochs: list[int] = []

    def load(self) -> bytes | None:
        return self.data

    def save(self, data: bytes, epoch: int) -> None:
        self.data = data
        self.epochs.append(epoch)


@pytest.fixture(scope="module")
def tiny():
    bench = load_benchmark("mnist1d_tiny")
    return bench, DataSpec.model_validate(bench.info["data"]).load()


@pytest.mark.slow  # three supernet trainings
def test_training_resumes_from_its_checkpoint_without_repeating_an_epoch(tiny):
    bench, task = tiny
    recipe = Recipe(batch_size=100)
    store = MemoryStore()
    first = train_supernet(bench.space, task, recipe, SupernetSettings(epochs=2), store=store, device="cpu")
    assert store.epochs == [1, 2] and [m.epoch for m in first.history] == [1, 2]
    assert [m.epoch for m in checkpoint_history(store.data)] == [1, 2]

    more = train_supernet(bench.space, task, recipe, SupernetSettings(epochs=4), store=store, device="cpu")
    assert more.resumed_from == 2 and store.epochs == [1, 2, 3, 4]  # epochs 1-2 were not trained again
    assert [m.epoch for m in more.history] == [1, 2, 3, 4]
    assert more.history[3].train_loss < more.history[0].train_loss
    assert any(not torch.equal(first.weights[k], more.weights[k]) for k in first.weights)

    done = train_supernet(bench.space, task, recipe, SupernetSettings(epochs=4), store=store, device="cpu")
    assert done.resumed_from == 4 and store.epochs == [1, 2, 3, 4]  # nothing left to train
    assert all(torch.equal(more.weights[k], done.weights[k]) for k in more.weights)


def test_the_sandwich_rule_trains_the_largest_and_the_smallest_path(tiny):
    bench, task = tiny
    sampler = PathSampler(bench.space, task.shape, seed=0, sandwich=True)
    largest, smallest, *random = sampler.step()
    assert len(random) == 2
    assert len(largest.stages) == 3 and len(smallest.stages) == 2
    assert all(s.kernel == 5 for s in largest.stages) and all(s.kernel == 3 for s in smallest.stages)


@pytest.mark.slow  # a supernet training
def test_a_path_is_scored_by_its_inherited_weights(tiny):
    bench, task = tiny
    run = train_supernet(bench.space, task, Recipe(batch_size=100), SupernetSettings(epochs=3), device="cpu")
    evaluator = SupernetEvaluator(task, run.weights, calibration_batches=5, batch_size=100)
    scores = {}
    for arch in bench.archs[:6]:
        e = evaluator.evaluate(Candidate(arch=arch), Fidelity(), seed=0)
        assert e.kind == EvaluatorKind.SUPERNET and e.scores.test_acc is None and e.epochs == 0
        assert 0 <= e.scores.val_acc <= 1 and e.latency_ms > 0
        scores[arch.digest()] = e.scores.val_acc
    # Three epochs of shared training already beat chance (10 classes) on average.
    assert sum(scores.values()) / len(scores) > 0.2
    again = evaluator.evaluate(Candidate(arch=bench.archs[0]), Fidelity(), seed=0)
    assert again.scores.val_acc == scores[bench.archs[0].digest()]  # same calibration batches: same score
    with pytest.raises(ValueError, match="validation only"):
        evaluator.evaluate(Candidate(arch=bench.archs[0]), Fidelity(), seed=0, test=True)


def test_the_supernet_trains_only_paths_within_the_study_constraints(tiny):
    from nasbench.measure.counts import count_figures

    bench, task = tiny
    limit = float(sorted(bench.flops)[len(bench.flops) // 2])  # half the space is over it
    sampler = PathSampler(bench.space, task.shape, seed=0, sandwich=True, limits={"flops": limit, "latency_ms": 1})
    drawn = [a for _ in range(10) for a in sampler.step()]
    flops = [count_figures(a, 1, (40,), 10)[1] for a in drawn]
    assert max(flops) <= limit and len({a.digest() for a in drawn}) > 3
