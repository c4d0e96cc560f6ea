"""The evaluator: one way in from a candidate network to a typed result.

``ScratchEvaluator.evaluate(candidate, fidelity, seed)`` builds the candidate (a searched
``Architecture`` or a zoo network), measures its latency, trains it from scratch with the
study's recipe on the study's data, and returns an ``Evaluation``. The search worker, zoo
baselines, export, tabular benchmarks and the final re-training all go through it; nothing
else trains a network.

The ``Evaluator`` protocol is the seam where other ways of scoring a candidate plug in (a
weight-sharing supernet, a tabular lookup, a zero-cost proxy), as in NNI's and Archai's
evaluator/strategy split: the search, the store and the reports do not care which one scored a
candidate, but every ``Evaluation`` says (``kind``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

from nasbench.core.enums import EvaluatorKind
from nasbench.data.spec import DataShape, Task
from nasbench.space.architecture import Architecture
from nasbench.train.metrics import EpochMetrics
from nasbench.train.recipe import Fidelity, Recipe

if TYPE_CHECKING:
    from torch import nn

    from nasbench.data.module import TensorDataModule
    from nasbench.train.curves import TrialRun


class Infeasible(Exception):
    """The candidate cannot be trained as the study asks (e.g. slower than its latency constraint)."""

    def __init__(self, reason: str, latency_ms: float | None = None) -> None:
        super().__init__(reason)
        self.latency_ms = latency_ms  # measured before it was found unfit, when it was


@dataclass(frozen=True)
class Candidate:
    """What is evaluated: a searched architecture or a zoo network, by name."""

    arch: Architecture | None = None
    zoo: str | None = None

    def __post_init__(self) -> None:
        if (self.arch is None) == (self.zoo is None):
            raise ValueError("a candidate is either an architecture or a zoo network name")

    @property
    def name(self) -> str:
        return self.arch.summary() if self.arch is not None else str(self.zoo)

    @property
    def resolution(self) -> int | None:
        """The input size the candidate asks for (an architecture's resolution choice)."""
        return self.arch.resolution if self.arch is not None else None

    def build(self, shape: DataShape) -> nn.Module:
        if self.arch is not None:
            from nasbench.nn.builder import build_network

            return build_network(self.arch, shape.in_channels, shape.num_classes, shape.ndim)
        from nasbench.zoo import create_model

        return create_model(
            str(self.zoo), num_classes=shape.num_classes, in_channels=shape.in_channels, small_input=True
        )


@dataclass(frozen=True)
class Evaluation:
    """How a candidate scored, and how (``kind``)."""

    kind: EvaluatorKind
    scores: Scores
    epochs: int = 0
    train_time_s: float | None = None
    latency_ms: float | None = None
    history: tuple[EpochMetrics, ...] = field(default=())
    proxies: dict[str, float] = field(default_factory=dict)  # zero-cost scores (higher = predicted better)


@dataclass(frozen=True)
class Scores:
    """Accuracy and loss on the validation split and, when it was used, the test split."""

    val_acc: float | None = None
    val_loss: float | None = None
    test_acc: float | None = None
    test_loss: float | None = None


class Listener(Protocol):
    """Follows one evaluation as it runs (the search worker reports each epoch to Ray Tune)."""

    def started(self, latency_ms: float | None) -> None: ...

    def epoch(self, metrics: EpochMetrics) -> None: ...


class EvalOptions(TypedDict, total=False):
    """What ``evaluate`` takes by keyword besides the candidate, fidelity and seed: ``test`` also
    scores the test split (final runs); ``listener`` follows the evaluation as it runs; ``run`` is
    the study logger's run that an evaluator which trains logs its curves to."""

    test: bool
    listener: Listener | None
    run: TrialRun | None


class Evaluator(Protocol):
    """Scores candidates at a fidelity; the search does not care how. One that trains logs the
    curves to the ``run`` option when given (the study's logger); others ignore it."""

    @property
    def kind(self) -> EvaluatorKind: ...

    def evaluate(
        self, candidate: Candidate, fidelity: Fidelity, seed: int, **options: Unpack[EvalOptions]
    ) -> Evaluation: ...


@dataclass(frozen=True)
class Trained:
    """A trained model with its evaluation and the data module it was fed (for export)."""

    model: nn.Module
    evaluation: Evaluation
    data: TensorDataModule


@dataclass(frozen=True, eq=False, kw_only=True)
class DeviceEvaluator:
    """What evaluators that run candidates share: the ``device``, the torch ``threads``, and
    ``max_latency_ms``: a candidate slower than this (batch 1, measured here: latency is a
    property of the hardware that runs it) is ``Infeasible`` before it is trained or scored."""

    device: str = "cpu"
    threads: int = 1
    max_latency_ms: float | None = None

    def started(self, model: nn.Module, input_shape: tuple[int, ...], listener: Listener | None) -> float:
        """The model's latency here, told to ``listener``; ``Infeasible`` beyond ``max_latency_ms``."""
        latency_ms = measure_latency(model, input_shape, self.device, self.max_latency_ms)
        if listener is not None:
            listener.started(latency_ms)
        return latency_ms


@dataclass(frozen=True)
class ScratchEvaluator(DeviceEvaluator):
    """Trains every candidate from scratch with one recipe on one task."""

    task: Task
    recipe: Recipe
    kind: EvaluatorKind = EvaluatorKind.SCRATCH

    def evaluate(
        self, candidate: Candidate, fidelity: Fidelity, seed: int, **options: Unpack[EvalOptions]
    ) -> Evaluation:
        return self.train(candidate, fidelity, seed, **options).evaluation

    def train(self, candidate: Candidate, fidelity: Fidelity, seed: int, **options: Unpack[EvalOptions]) -> Trained:
        import torch

        from nasbench.data.module import TensorDataModule
        from nasbench.train.run import augment_from, train_network
        from nasbench.train.threads import torch_threads

        listener = options.get("listener")
        t0 = time.perf_counter()  # a time allowance counts the set-up too
        with torch_threads(self.threads):
            torch.manual_seed(seed)
            model = candidate.build(self.task.shape)
            dm = TensorDataModule(
                self.task.dataset,
                self.task.split,
                batch_size=self.recipe.batch_size,
                train_fraction=fidelity.train_fraction,
                resolution=fidelity.resolution or candidate.resolution,
                augment=augment_from(self.recipe),
                seed=seed,
                train_on_val=fidelity.train_on_val,
            )
            latency_ms = self.started(model, dm.input_shape, listener)

            result = train_network(
                model,
                dm,
                self.recipe,
                fidelity.epochs,
                seed=seed,
                on_epoch=listener.epoch if listener is not None else None,
                evaluate_test=options.get("test", False),
                device=self.device,
                run=options.get("run"),
                time_limit=None if fidelity.time is None else fidelity.time - (time.perf_counter() - t0),
            )
        evaluation = Evaluation(
            kind=self.kind,
            scores=Scores(result.val_acc, result.val_loss, result.test_acc, result.test_loss),
            epochs=result.epochs,
            train_time_s=result.train_time_s,
            latency_ms=latency_ms,
            history=tuple(result.history),
        )
        return Trained(model, evaluation, dm)


def measure_latency(model: nn.Module, input_shape: tuple[int, ...], device: str, max_latency_ms: float | None) -> float:
    """The model's median batch-1 latency here (latency is a property of the hardware that runs
    it); a model slower than ``max_latency_ms`` is ``Infeasible``."""
    from nasbench.measure.runtime import latency

    latency_ms = latency(model, input_shape, batch_sizes=(1,), device=device).median_ms[1]
    if max_latency_ms is not None and latency_ms > max_latency_ms:
        raise Infeasible(f"latency_ms {latency_ms:.3f} exceeds the constraint {max_latency_ms:g}", latency_ms)
    return latency_ms


class ProxyEvaluator:
    """Scores candidates at initialisation with zero-cost proxies on one fixed training batch.

    The batch is drawn once per input resolution (seeded, normalised as training normalises it),
    so every candidate is scored on the same samples. Nothing is trained: ``val_acc`` is None.
    """

    kind = EvaluatorKind.PROXY

    def __init__(self, task: Task, names: list[str], batch_size: int = 64, seed: int = 0) -> None:
        self.task, self.names, self.batch_size, self.seed = task, list(names), batch_size, seed
        self._batches: dict[int | None, tuple[Any, Any]] = {}

    def evaluate(
        self, candidate: Candidate, fidelity: Fidelity, seed: int, **options: Unpack[EvalOptions]
    ) -> Evaluation:
        from nasbench.measure.proxies import compute_proxies

        resolution = fidelity.resolution or candidate.resolution
        if resolution not in self._batches:
            self._batches[resolution] = self.task.train_batch(self.batch_size, self.seed, resolution)
        x, y = self._batches[resolution]
        scores = compute_proxies(lambda: candidate.build(self.task.shape), x, y, self.names, seed=seed)
        return Evaluation(kind=self.kind, scores=Scores(), proxies=scores)


def failure_reason(exc: BaseException) -> str:
    """One line saying why an evaluation failed (divergence, memory, or the exception's first line)."""
    import torch

    from nasbench.train.module import DivergenceError

    if isinstance(exc, DivergenceError):
        return f"diverged: {exc}"
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return f"out of memory: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
