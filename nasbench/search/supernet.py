"""A study's supernet: trained once by the driver before the search scores paths of it.

Its checkpoint is kept in the results database after every epoch, so a killed or interrupted
search resumes the supernet's training where it stopped; its curve is stored as the study's one
``supernet``-stage trial, like any training's. The time it takes counts against the study's time
budget: a search with shared weights is compared with others at the same compute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from nasbench.core.enums import EvaluatorKind, Stage, TrialState
from nasbench.search.cluster import trial_resources
from nasbench.search.config import StudyConfig
from nasbench.search.ledger import Ledger, StoredStudy, TrialEnd, TrialEpoch, TrialStart
from nasbench.search.recorder import StudyRecorder
from nasbench.space.spec import SpaceSpec
from nasbench.train.evaluate import Scores
from nasbench.train.metrics import EpochMetrics
from nasbench.train.recipe import Fidelity

if TYPE_CHECKING:
    import torch

    from nasbench.data.spec import Task

CHECKPOINT = "supernet"


class LedgerCheckpoints:
    """The supernet's ``CheckpointStore``: the study's checkpoint row in the results database."""

    def __init__(self, ledger: Ledger, study_id: int) -> None:
        self.ledger, self.study_id = ledger, study_id

    def load(self) -> bytes | None:
        return self.ledger.load_checkpoint(self.study_id, CHECKPOINT)

    def save(self, data: bytes, epoch: int) -> None:
        self.ledger.save_checkpoint(self.study_id, CHECKPOINT, epoch, data)


def study_supernet(
    cfg: StudyConfig,
    space: SpaceSpec,
    task: Task,
    ledger: Ledger,
    stored: StoredStudy,
    recorder: StudyRecorder,
    console: Console,
) -> dict[str, torch.Tensor] | None:
    """The study's trained supernet weights, training (or finishing) it first; None when the search
    was asked to stop during its training."""
    from nasbench.train.supernet import SupernetSettings, checkpoint_history, train_supernet
    from nasbench.train.threads import torch_threads

    assert cfg.evaluator is not None
    ev = cfg.evaluator
    store = LedgerCheckpoints(ledger, stored.study_id)
    history = checkpoint_history(store.load())
    finished = [t for t in ledger.trials(stored.study_id, stage=Stage.SUPERNET) if t.state == TrialState.COMPLETE]
    record = not (finished and len(history) >= ev.epochs)
    if record:
        recorder.start(
            TrialStart(
                stage=Stage.SUPERNET,
                number=0,
                name=f"supernet of {space.name}" + (" (sandwich rule)" if ev.sandwich else ""),
                seed=cfg.seed,
                fidelity=Fidelity(epochs=ev.epochs),
                evaluator=EvaluatorKind.SUPERNET,
            )
        )
        for metrics in history:  # a resumed training's earlier epochs, from its checkpoint
            ledger.record_epoch(stored.study_id, TrialEpoch(Stage.SUPERNET, 0, metrics))
        where = f"resuming at epoch {len(history) + 1}" if history else "from scratch"
        console.print(
            f"supernet: training {ev.epochs} epochs ({where}), one path per step"
            + (", sandwich rule" if ev.sandwich else "")
        )

    def on_epoch(epoch: EpochMetrics) -> None:
        ledger.record_epoch(stored.study_id, TrialEpoch(Stage.SUPERNET, 0, epoch))
        console.print(
            f"supernet epoch {epoch.epoch}/{ev.epochs}: train loss {epoch.train_loss:.4f}, "
            f"largest path val acc {epoch.val_acc:.4f} ({epoch.epoch_time_s:.1f} s)"
        )

    resources = trial_resources(cfg.resources.cpu, cfg.resources.gpu)
    with torch_threads(resources.threads):
        run = train_supernet(
            space,
            task,
            cfg.recipe,
            SupernetSettings(
                ev.epochs, ev.sandwich, ev.calibration_batches, ev.train_fraction, ev.few_shot, dict(cfg.constraints)
            ),
            seed=cfg.seed,
            device=resources.device,
            store=store,
            on_epoch=on_epoch if record else None,
            should_stop=lambda: recorder.stop.asked,
        )
    recorder.count_time()
    if recorder.stop.asked:
        recorder.finish(
            Stage.SUPERNET,
            0,
            TrialEnd(
                TrialState.INTERRUPTED,
                failure_reason=f"{recorder.stop.trial_reason}; training resumes from its last epoch",
            ),
        )
        return None
    if record:
        last = run.history[-1] if run.history else None
        recorder.finish(
            Stage.SUPERNET,
            0,
            TrialEnd(
                TrialState.COMPLETE,
                Scores(val_acc=last.val_acc, val_loss=last.val_loss) if last else Scores(),
                train_time_s=sum(m.epoch_time_s or 0.0 for m in run.history),
            ),
        )
    return run.weights
