"""The study file: what to search, on what data, with which sampler, budget and recipe."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nasbench.core.config import Strict, first_error, parse_yaml_mapping, read_config_text
from nasbench.core.durations import Seconds
from nasbench.data.spec import DataSpec
from nasbench.errors import ConfigError
from nasbench.space.architecture import Architecture
from nasbench.space.spec import SpaceSpec, load_space
from nasbench.train.curves import CurveLogging, LoggerKind
from nasbench.train.recipe import Fidelity, Recipe

MUTABLE_FIELDS = ("budget", "final", "resources", "max_consecutive_failures", "targets", "logging", "baselines")
MAX_NAME = 100
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")  # '@' joins a replicate's suffix (x@seed1)

Direction = Literal["minimize", "maximize"]
OBJECTIVES: dict[str, Direction] = {
    "val_acc": "maximize",
    "params": "minimize",
    "flops": "minimize",
    "latency_ms": "minimize",
}


class SamplerConfig(Strict):
    name: str = "tpe"
    seed: int | None = None  # defaults to the study seed
    options: dict[str, Any] = Field(default_factory=dict)


class SchedulerConfig(Strict):
    name: Literal["none", "asha", "hyperband"] = "none"
    grace_period: int = Field(1, gt=0)
    reduction_factor: float = Field(3, gt=1)


class BudgetConfig(Strict):
    trials: int | None = Field(None, gt=0)
    time: Seconds | None = Field(None, gt=0)  # seconds; "30m", "1h", "90s" accepted

    @model_validator(mode="after")
    def _some(self) -> BudgetConfig:
        if self.trials is None and self.time is None:
            raise ValueError("give trials, time or both")
        return self


class ResourcesConfig(Strict):
    cpu: float = Field(1, gt=0)
    gpu: float = Field(0, ge=0)  # per trial; "auto" handled by the runner (1 when GPUs exist)
    # The final re-trainings and the baselines have the cluster to themselves: with this, each takes
    # the CPUs the others leave idle as torch threads (one finalist on 2 idle cores: 1.6-1.7x
    # faster). Off by default: on a machine other work shares, extra threads can be slower.
    spread_final: bool = False


CONSTRAINABLE = ("params", "flops", "latency_ms")


def _constrainable(limits: dict[str, float], what: str) -> dict[str, float]:
    """``limits`` if it bounds only ``CONSTRAINABLE`` measures; else ValueError naming the ``what``."""
    for k in limits:
        if k not in CONSTRAINABLE:
            raise ValueError(f"unknown {what} {k!r}; choose from {', '.join(CONSTRAINABLE)}")
    return limits


class FinalConfig(Strict):
    top_k: int = Field(3, ge=0)
    fidelity: Fidelity = Fidelity(epochs=10)
    # Also re-train the best (by validation) architecture within each bound, e.g. {params: 100000}:
    # a small network the top-k would leave out.
    best_within: dict[str, float] = Field(default_factory=dict)

    @field_validator("best_within")
    @classmethod
    def _bounds(cls, v: dict[str, float]) -> dict[str, float]:
        return _constrainable(v, "bound")


class PrefilterConfig(Strict):
    """Score ``sample`` random feasible architectures with a zero-cost proxy at initialisation and
    evaluate the best ``keep`` of them first (they count against the budget like any trial)."""

    proxy: str = "synflow"  # a registered proxy, or ensemble (mean rank over `members`)
    members: list[str] | None = None  # the ensemble's proxies (default: every registered one)
    sample: int = Field(1000, gt=0)
    keep: int = Field(50, gt=0)
    batch_size: int = Field(64, ge=2)

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, v: str) -> str:
        from nasbench.measure.proxies import proxy_choices

        if v not in proxy_choices():
            raise ValueError(f"unknown proxy {v!r}; choose from {', '.join(proxy_choices())}")
        return v

    @field_validator("members")
    @classmethod
    def _members(cls, v: list[str] | None) -> list[str] | None:
        from nasbench.measure.proxies import ENSEMBLE, PROXIES

        for name in v or []:
            if name not in PROXIES:
                members = ", ".join(PROXIES)
                raise ValueError(f"unknown ensemble member {name!r}; choose from {members} ({ENSEMBLE} is not one)")
        return v

    @model_validator(mode="after")
    def _keep(self) -> PrefilterConfig:
        if self.keep > self.sample:
            raise ValueError(f"keep ({self.keep}) is more than sample ({self.sample})")
        if self.members is not None and self.proxy != "ensemble":
            raise ValueError(f"members are the proxies of an ensemble; proxy is {self.proxy!r}, not ensemble")
        return self


class EvaluatorConfig(Strict):
    """How the search scores a candidate: trained from scratch at the study's fidelity (``scratch``),
    or as a path of a weight-sharing supernet trained once for ``epochs`` epochs with the study's
    recipe (``supernet``: inherit weights, recalibrate BatchNorm on ``calibration_batches`` training
    batches, validate). The final stage always re-trains from scratch."""

    name: Literal["scratch", "supernet"] = "scratch"
    epochs: int = Field(30, gt=0)  # supernet training
    sandwich: bool = False  # train the largest, smallest and two random paths per step
    calibration_batches: int = Field(10, gt=0)
    train_fraction: float = Field(1.0, gt=0, le=1)  # of the training split the supernet trains on
    few_shot: bool = False  # one sub-supernet per block type of the first stage (Zhao et al., 2021)
    # Validation samples a path is scored on (the first of the validation split; None: all of it).
    # Scoring is a forward pass over them: fewer make candidates cheaper and their scores noisier.
    val_samples: int | None = Field(None, gt=0)

    @property
    def shared_weights(self) -> bool:
        return self.name == "supernet"


class TargetConfig(Strict):
    """A result the study aims for, checked in its report on final test accuracy: the network chosen
    (by validation, among the finally trained ones within the bounds) must reach ``test_acc``."""

    name: str
    test_acc: float = Field(gt=0, le=1)  # at least
    params: float | None = Field(None, gt=0)  # at most
    flops: float | None = Field(None, gt=0)  # at most


class BaselineConfig(Strict):
    """A network trained beside the search under its final protocol (the final fidelity when the study
    has one, test measured): a hand-written ``arch`` in the architecture notation (see
    ``nasbench.space.notation``), or a ``zoo`` network. ``name`` labels it in the store and reports
    (default: the zoo name, or the notation itself)."""

    name: str | None = None
    arch: str | None = None
    zoo: str | None = None

    @model_validator(mode="after")
    def _one(self) -> BaselineConfig:
        if (self.arch is None) == (self.zoo is None):
            raise ValueError("give either arch (a network in the architecture notation) or zoo (a zoo model name)")
        from nasbench.space.notation import parse_architecture
        from nasbench.zoo import model_info

        try:  # each error names the bad token or lists the zoo's models
            parse_architecture(self.arch) if self.arch is not None else model_info(str(self.zoo))
        except ConfigError as e:
            raise ValueError(str(e).rstrip(".")) from None
        if self.name is not None and not NAME_RE.fullmatch(self.name):
            raise ValueError(f"the baseline name {self.name!r} may use only letters, digits, '.', '_' and '-'")
        return self

    @property
    def label(self) -> str:
        """The name the baseline's trial is stored under."""
        arch = self.architecture
        return self.name or self.zoo or (arch.summary() if arch is not None else "")

    @property
    def architecture(self) -> Architecture | None:
        from nasbench.space.notation import parse_architecture

        return parse_architecture(self.arch) if self.arch is not None else None


class ReplicateConfig(Strict):
    """Set by ``nasbench replicate``, not written by hand: this study is study ``of`` run again with
    seed ``seed``, with the random sampler (and no pre-filter) when ``random``."""

    of: str
    seed: int
    random: bool = False


class StudyConfig(Strict):
    """A validated study file."""

    name: str
    space: str  # path, relative to the study file
    data: DataSpec
    sampler: SamplerConfig = SamplerConfig()
    objectives: list[str] = ["val_acc"]
    constraints: dict[str, float] = Field(default_factory=dict)
    budget: BudgetConfig
    fidelity: Fidelity = Fidelity()
    recipe: Recipe = Recipe()
    scheduler: SchedulerConfig = SchedulerConfig()
    resources: ResourcesConfig = ResourcesConfig()
    seed: int = 0
    max_consecutive_failures: int = Field(5, gt=0)
    final: FinalConfig | None = None
    prefilter: PrefilterConfig | None = None
    targets: list[TargetConfig] = Field(default_factory=list)
    logging: CurveLogging | None = None  # each trial's curves in a TensorBoard, CSV or MLflow logger
    evaluator: EvaluatorConfig | None = None  # None: scratch
    baselines: list[BaselineConfig] = Field(default_factory=list)
    replicate: ReplicateConfig | None = None  # a replicate of another study (nasbench replicate)

    @field_validator("logging", mode="before")
    @classmethod
    def _logging(cls, v: Any) -> Any:
        return {"logger": v} if isinstance(v, str) else v  # `logging: csv` is short for {logger: csv}

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():
            raise ValueError("the study name is empty")
        if (info.context or {}).get("stored"):
            return v  # a study an older version accepted stays readable
        # Names become file names (reports, exports) and database keys (varchar 255).
        if len(v) > MAX_NAME:
            raise ValueError(f"the study name has {len(v)} characters; at most {MAX_NAME} are allowed")
        if not NAME_RE.fullmatch(v):
            raise ValueError(f"the study name {v!r} may use only letters, digits, '.', '_', '-' and '@'")
        return v

    @field_validator("objectives", mode="before")
    @classmethod
    def _objectives(cls, v: Any) -> Any:
        v = [v] if isinstance(v, str) else v
        for o in v:
            if o not in OBJECTIVES:
                raise ValueError(f"unknown objective {o!r}; choose from {', '.join(OBJECTIVES)}")
        if not v or v[0] != "val_acc":
            raise ValueError("the first objective must be val_acc")
        return v

    @field_validator("constraints")
    @classmethod
    def _constraints(cls, v: dict[str, float]) -> dict[str, float]:
        return _constrainable(v, "constraint")

    @model_validator(mode="after")
    def _early_stopping(self) -> StudyConfig:
        s = self.scheduler
        if s.name != "none" and len(self.objectives) > 1:
            raise ValueError(
                f"field 'scheduler': early stopping ({s.name}) needs a single objective; remove it or keep only val_acc"
            )
        if s.name != "none" and s.grace_period > self.fidelity.epochs:
            raise ValueError(
                f"field 'scheduler.grace_period': {s.grace_period} is more than the "
                f"{self.fidelity.epochs} epochs of a trial"
            )
        return self

    @model_validator(mode="after")
    def _search_validates(self) -> StudyConfig:
        if self.fidelity.train_on_val:
            raise ValueError(
                "field 'fidelity.train_on_val': the search ranks candidates on the validation split, so it "
                "cannot train on it; set it under final.fidelity (the re-training after the choice)"
            )
        if self.fidelity.time is not None:
            # Searched candidates would be compared at different epochs, chosen by their speed.
            raise ValueError(
                "field 'fidelity.time': every searched candidate trains the same epochs so that they compare; "
                "the search's time is budget.time, and a time per training belongs under final.fidelity"
            )
        return self

    @model_validator(mode="after")
    def _baseline_names(self) -> StudyConfig:
        labels = [b.label for b in self.baselines]
        if twice := sorted({n for n in labels if labels.count(n) > 1}):
            raise ValueError(f"field 'baselines': the name {twice[0]!r} is used twice; give each baseline its own name")
        return self

    @model_validator(mode="after")
    def _supernet(self) -> StudyConfig:
        if self.evaluator is not None and self.evaluator.shared_weights and self.scheduler.name != "none":
            raise ValueError(
                f"field 'scheduler': early stopping ({self.scheduler.name}) has nothing to stop with the "
                "supernet evaluator (a path is scored without training); remove it"
            )
        if self.evaluator is not None and self.evaluator.shared_weights and self.fidelity.resolution is not None:
            raise ValueError(
                "field 'fidelity.resolution': the supernet evaluator trains and scores at the data's own "
                "input size; remove it"
            )
        return self

    @property
    def shared_weights(self) -> bool:
        """Whether the search scores candidates by a supernet's shared weights."""
        return self.evaluator is not None and self.evaluator.shared_weights

    @property
    def directions(self) -> list[Direction]:
        return [OBJECTIVES[o] for o in self.objectives]

    @property
    def sampler_seed(self) -> int:
        return self.sampler.seed if self.sampler.seed is not None else self.seed

    def identity(self) -> dict[str, Any]:
        """The fields that make a study what it is: a resumed study must match them.

        The budget, final training, resources, failure limit, targets and logger may change
        between runs (a budget can grow); fields a newer version added (None when unused) do not make
        an older study different.
        """
        config = self.model_dump(mode="json")
        return {k: v for k, v in config.items() if k not in MUTABLE_FIELDS and v is not None}


class LoadedStudy(BaseModel):
    """A study file with its space resolved."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    config: StudyConfig
    space: SpaceSpec
    path: str
    text: str

    @property
    def file_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


NO_LOGGER = "none"


def replicate_name(study: str, seed: int, random: bool) -> str:
    """The name of study ``study``'s replicate: ``x@seed1``, ``x@random-seed0``."""
    return f"{study}@{'random-' if random else ''}seed{seed}"


def as_replicate(data: dict[str, Any], seed: int, random: bool) -> dict[str, Any]:
    """A study file's fields turned into its replicate's: another name and seed (the sampler's seed
    follows it), and for random search the random sampler, without pre-filter or baselines (the
    search's replicate of the same seed trains those); the rest, budget included, is the file's."""
    of = data["name"]
    out = {**data, "name": replicate_name(of, seed, random), "seed": seed}
    out["replicate"] = {"of": of, "seed": seed, "random": random}
    sampler = out.get("sampler")
    if isinstance(sampler, dict):
        out["sampler"] = {k: v for k, v in sampler.items() if k != "seed"}
    if random:
        out["sampler"] = {"name": "random"}
        out.pop("prefilter", None)
        out.pop("baselines", None)
    return out


def load_study(path: str | Path, logger: str | None = None, replicate: tuple[int, bool] | None = None) -> LoadedStudy:
    """Read and validate a study file and its space; errors name the file and the field.

    ``logger`` (``tensorboard``, ``csv``, ``mlflow`` or ``none``) overrides the file's
    ``logging.logger``. The log folder is resolved here, on the driver, and the logger's package
    checked before anything is written. ``replicate`` (seed, random): the study's replicate with
    that seed (see ``as_replicate``) instead of the study itself.
    """
    path = Path(path)
    text = read_config_text(path, "study")
    data = parse_yaml_mapping(text, path, "study")
    data.setdefault("name", path.stem)
    if replicate is not None:
        data = as_replicate(data, *replicate)
    try:
        config = StudyConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path}: {first_error(e)}") from e
    config = _with_logger(config, logger)
    if config.logging is not None:
        try:
            config.logging.check_installed()
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from e
        config = config.model_copy(update={"logging": config.logging.resolved(config.name)})
    space_path = (path.parent / config.space) if not Path(config.space).is_absolute() else Path(config.space)
    if not space_path.is_file():
        raise ConfigError(f"{path}: field 'space': search space file {space_path} not found.")
    from nasbench.train.optim import check_recipe

    try:
        config.data.check_options()
        check_recipe(config.recipe)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e
    return LoadedStudy(config=config, space=load_space(space_path), path=str(path), text=text)


def _with_logger(config: StudyConfig, logger: str | None) -> StudyConfig:
    """``config`` with its logger replaced by ``logger`` (None: as it is; ``none``: no logger)."""
    if logger is None:
        return config
    if logger == NO_LOGGER:
        return config.model_copy(update={"logging": None})
    try:
        kind = LoggerKind(logger)
    except ValueError:
        choices = ", ".join([*LoggerKind, NO_LOGGER])
        raise ConfigError(f"--logger: unknown logger {logger!r}; choose from {choices}.") from None
    current = config.logging or CurveLogging(logger=kind)
    return config.model_copy(update={"logging": current.model_copy(update={"logger": kind})})
