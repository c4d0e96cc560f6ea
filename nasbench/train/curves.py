"""Each trial's curves in a Lightning logger the user names: TensorBoard, CSV or MLflow.

A study's ``logging: {logger: csv, dir: ...}`` gives every trial (search and final stages,
baselines) one run of its own, named after its stage and trial and tagged with the study, stage,
trial number and the architecture's canonical name; its hyperparameters (architecture, params,
FLOPs, seed, fidelity) are logged once and its per-epoch ``train_loss``, ``val_loss`` and
``val_acc`` at step = epoch (the final stage adds ``test_loss`` and ``test_acc`` at the last
epoch); a run ends finished, failed, or (MLflow) killed when the scheduler pruned the trial.
What each writes under ``dir``:

- ``csv``: ``<stage>/<run>/version_<k>/metrics.csv`` and ``hparams.yaml``;
- ``tensorboard``: ``<stage>/<run>/version_<k>/events.out.tfevents.*`` (scalars, and the
  hyperparameters for TensorBoard's HPARAMS tab) and ``hparams.yaml``;
- ``mlflow``: the local store ``mlflow.db`` (SQLite; MLflow keeps its ``./mlruns`` file store in
  maintenance mode and refuses it by default), experiment = the study, one run per trial named
  ``<stage>-<run>`` with the tags above.

``<run>`` is ``trial-<number>`` (``baseline-<zoo name>`` for baselines); ``version_<k>`` counts
the attempts of one trial (a re-queued or re-trained one gets the next). tensorboard and mlflow
come with the ``loggers`` extra and are imported only when a trial logs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from nasbench.core.enums import TrialState
from nasbench.errors import ConfigError
from nasbench.train.metrics import EpochMetrics
from nasbench.train.recipe import Fidelity

if TYPE_CHECKING:
    from pytorch_lightning.loggers import Logger

EXTRA = "loggers"
DEFAULT_DIR = "nasbench_logs"  # default: ./nasbench_logs/<study>, under the directory the search runs in
MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "mlflow-artifacts"
# The numbers each epoch logs (per-epoch time and throughput stay in the results store).
CURVES = ("train_loss", "val_loss", "val_acc")
# A run's end: Lightning's "success" and "failed", and this for a trial stopped from outside
# before its last epoch (pruned by the scheduler): MLflow's status for it (the others ignore it).
STOPPED = "KILLED"


class LoggerKind(StrEnum):
    TENSORBOARD = "tensorboard"
    CSV = "csv"
    MLFLOW = "mlflow"

    @property
    def package(self) -> str | None:
        """The package this logger needs beyond nasbench's own requirements."""
        return {LoggerKind.TENSORBOARD: "tensorboard", LoggerKind.MLFLOW: "mlflow"}.get(self)


class CurveLogging(BaseModel):
    """A study's ``logging`` field: which logger, and where (resolved on the driver at load)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    logger: LoggerKind
    dir: str | None = None  # default ./nasbench_logs/<study>; relative to the working directory

    def resolved(self, study: str) -> CurveLogging:
        """This setting with ``dir`` absolute: trial workers run in other working directories."""
        path = Path(self.dir).expanduser() if self.dir else Path(DEFAULT_DIR) / study
        return self.model_copy(update={"dir": str(path.resolve())})

    def check_installed(self) -> None:
        """ConfigError, in one sentence, when the logger's package is missing."""
        package = self.logger.package
        if package is not None and importlib.util.find_spec(package) is None:
            raise ConfigError(
                f"field 'logging.logger': the {self.logger} logger needs the package {package}, which is not "
                f"installed; install nasbench's extra '{EXTRA}' (pip install 'nasbench[{EXTRA}]')."
            )

    @property
    def root(self) -> Path:
        assert self.dir is not None and Path(self.dir).is_absolute(), "resolved on the driver"
        return Path(self.dir)

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.root / MLFLOW_DB}"

    def prepare(self, study: str) -> None:
        """Make the log folder (and MLflow's store and experiment) on the driver, before any trial
        runs: concurrent trials would otherwise race to create them."""
        self.check_installed()
        self.root.mkdir(parents=True, exist_ok=True)
        if self.logger == LoggerKind.MLFLOW:
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=self.mlflow_uri)
            if client.get_experiment_by_name(study) is None:
                client.create_experiment(study, artifact_location=(self.root / MLFLOW_ARTIFACTS).as_uri())


@dataclass(frozen=True)
class TrialRun:
    """One trial's run in the study's logger: where, under which name, tagged how."""

    logging: CurveLogging
    study: str
    stage: str
    run: str  # trial-<number>, or baseline-<zoo name>
    tags: dict[str, str]
    hparams: dict[str, Any] = field(default_factory=dict)


def trial_run(
    logging: CurveLogging,
    study: str,
    stage: str,
    number: int,
    architecture: str,
    *,
    zoo: bool = False,
    seed: int,
    fidelity: Fidelity,
    params: int | None = None,
    flops: int | None = None,
) -> TrialRun:
    """The run of trial ``number`` (``architecture``: the canonical name, or a zoo network's)."""
    tags = {"study": study, "stage": str(stage), "trial": str(number), "architecture": architecture}
    hparams: dict[str, Any] = {
        **tags,
        "trial": number,
        "params": params,
        "flops": flops,
        "seed": seed,
        "epochs": fidelity.epochs,
        "train_fraction": fidelity.train_fraction,
        "resolution": fidelity.resolution,
    }
    return TrialRun(
        logging,
        study,
        str(stage),
        f"baseline-{architecture}" if zoo else f"trial-{number}",
        tags,
        {k: v for k, v in hparams.items() if v is not None},
    )


def open_logger(run: TrialRun) -> Logger:
    """A new Lightning logger for ``run``, its hyperparameters logged."""
    from pytorch_lightning.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger

    lg = run.logging
    name = f"{run.stage}/{run.run}"
    logger: Logger
    if lg.logger == LoggerKind.CSV:
        logger = CSVLogger(save_dir=lg.root, name=name)
    elif lg.logger == LoggerKind.TENSORBOARD:
        logger = TensorBoardLogger(save_dir=lg.root, name=name, default_hp_metric=False)
    else:
        logger = MLFlowLogger(
            experiment_name=run.study,
            run_name=f"{run.stage}-{run.run}",
            tracking_uri=lg.mlflow_uri,
            tags=run.tags,
            artifact_location=(lg.root / MLFLOW_ARTIFACTS).as_uri(),
        )
    logger.log_hyperparams(run.hparams)
    if isinstance(logger, TensorBoardLogger):
        _tensorboard_hparams(logger, run.hparams)
    logger.save()
    return logger


def _tensorboard_hparams(logger: Any, hparams: dict[str, Any]) -> None:
    """The hyperparameters in the event file, for TensorBoard's HPARAMS tab, with the curves as
    its metrics. Lightning writes them there only together with a metric value at step 0, which
    would put a point on a curve that has none."""
    from torch.utils.tensorboard.summary import hparams as hparams_summary

    writer = logger.experiment._get_file_writer()
    for summary in hparams_summary(hparams, dict.fromkeys(CURVES, 0.0)):
        writer.add_summary(summary)


def log_epoch(logger: Logger, metrics: EpochMetrics) -> None:
    """One epoch's curves at step = epoch (1-based), written out at once."""
    values = {k: v for k in CURVES if (v := getattr(metrics, k)) is not None}
    logger.log_metrics(values, step=metrics.epoch)
    logger.save()


def end_open_runs(logging: CurveLogging, study: str, stage: str, states: dict[int, TrialState]) -> int:
    """End the MLflow runs of ``stage`` still marked running once its trials have all stopped.

    A trial's thread ends its own run (``train_network``), but Ray Tune stops a pruned trial's
    thread without waiting for it, and kills it when the run ends: its run would stay RUNNING.
    ``states``: each trial's end as the driver recorded it; a run of a trial not in it (the search
    was stopped while it ran) ends KILLED. The other loggers keep no status. Returns how many ended.
    """
    if logging.logger != LoggerKind.MLFLOW:
        return 0
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=logging.mlflow_uri)
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        return 0
    open_runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.stage = '{stage}' and attributes.status = 'RUNNING'"
    )
    for r in open_runs:
        trial = r.data.tags.get("trial", "")
        state = states.get(int(trial)) if trial.isdigit() else None
        client.set_terminated(r.info.run_id, _MLFLOW_STATUS.get(state, STOPPED) if state is not None else STOPPED)
    return len(open_runs)


# How a trial's end reads as an MLflow run status (pruned and interrupted runs: STOPPED).
_MLFLOW_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.FAILED: "FAILED"}
