"""Surrogate benchmarks: a regression model fitted on a built table values architectures it lacks.

The encoding is typed and comes from the table's space, not from the rows it happens to hold:
for every field the space offers more than one value of, a one-hot column per value (block
type, downsampling, activation, norm) or one ordinal column (kernel, depth, dilation, stride;
widths as log2(1 + width)); per stage position that only some networks have, a column saying
whether the network has it (an absent stage's columns are 0). ``features="encoding+size"`` adds
log params and log FLOPs (counted for an architecture the table lacks).

Models (``MODELS``): ridge regression on the standardised encoding (its penalty chosen by
leave-one-out), gradient boosting of depth-2 trees, a random forest, and ``ridge+boosting``,
the mean of the first two. One model of the chosen kind per target: validation accuracy, test
accuracy and log training time at one epoch budget, so a replay can charge and report a
surrogate value like a table entry. ``benchmarks/RESULTS.md`` gives the measurements the
defaults were picked by (held-out Kendall tau on ``mnist1d_tiny``).

Held out: ``cross_validate`` predicts each architecture by the model fitted on the other folds
(k-fold, shuffled by ``seed``); Kendall tau-b, RMSE and MAE compare the pooled predictions with
the table's validation accuracy, beside the tau of ranking by FLOPs and by params.

The file (JSON, ``format: nasbench-surrogate``) holds the settings, the held-out figures, the
table's name and digests, and the rows the model is fitted on; loading fits the model again
(seeded, so the same model) and refuses the file when its predictions on those rows differ
from the ones saved. Unlike a pickle, loading a file runs no code from it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.base import RegressorMixin
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor, VotingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nasbench.errors import ConfigError, UnknownName
from nasbench.measure.preview import figures
from nasbench.space.architecture import Architecture
from nasbench.space.spec import STAGE_ATTRS, STAGE_FIELDS, SpaceSpec, parse_space
from nasbench.tabular.correlation import kendall_tau
from nasbench.tabular.table import Benchmark, arch_features

FORMAT, VERSION = "nasbench-surrogate", 1
MIN_ARCHS = 10  # and at least 2 per fold
TARGETS = ("val_acc", "test_acc", "train_time_s")  # the time is modelled as its log
FEATURE_SETS = ("encoding", "encoding+size")
DEFAULT_MODEL, DEFAULT_FEATURES = "ridge+boosting", "encoding"
CATEGORICAL = ("block", "downsample", "activation", "norm")
LOG_WIDTH = ("width", "growth", "stem_width", "head_width")  # encoded as log2(1 + value)
REFIT_TOLERANCE = 1e-6  # largest relative difference a loaded file's refit may show on its own rows


# --- the encoding -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Feature:
    """One column: ``key`` is a field of ``arch_features`` (``s<i>.<field>`` per stage), or
    ``num_stages``, ``s<i>.present``, ``log_params``, ``log_flops``; ``category`` a one-hot value."""

    key: str
    category: str | None = None

    @property
    def name(self) -> str:
        return self.key if self.category is None else f"{self.key}={self.category}"


@dataclass(frozen=True)
class Encoding:
    features: tuple[Feature, ...]

    @classmethod
    def of_space(cls, spec: SpaceSpec, with_size: bool = False) -> Encoding:
        """The columns of every field ``spec`` lets vary (see the module docstring)."""
        cols: list[Feature] = []
        scaled = len(spec.width_mult) > 1  # widths vary with the multiplier whatever the listed ones
        globals_: dict[str, Sequence[Any]] = {
            "num_stages": spec.num_stages,
            "stem_width": spec.stem.width,
            "stem_kernel": spec.stem.kernel,
            "stem_stride": spec.stem.stride,
            "activation": spec.activation,
            "norm": spec.norm,
            "head_dropout": spec.head.dropout,
            "head_width": spec.head.width,
            "resolution": spec.resolution,
        }
        for key, values in globals_.items():
            cols += _columns(key, key, list(values), scaled and key == "stem_width")
        for i in range(max(spec.num_stages)):
            if i >= min(spec.num_stages):
                cols.append(Feature(f"s{i}.present"))
            choices = spec.stage_choices(i)
            for f in STAGE_FIELDS:
                values = list(getattr(choices, f) or [])
                cols += _columns(f"s{i}.{STAGE_ATTRS.get(f, f)}", f, values, scaled and f == "width")
        if with_size:
            cols += [Feature("log_params"), Feature("log_flops")]
        return cls(tuple(cols))

    def encode(self, arch: Architecture, size: tuple[float, float] | None = None) -> np.ndarray:
        """One row; ``size`` (params, FLOPs) is needed when the encoding has the size columns."""
        flat = arch_features(arch)
        flat["num_stages"] = len(arch.stages)
        flat.update({f"s{i}.present": 1 for i in range(len(arch.stages))})
        if size is not None:
            flat["log_params"], flat["log_flops"] = math.log(size[0]), math.log(size[1])
        return np.array([_value(f, flat) for f in self.features], dtype=float)

    @property
    def with_size(self) -> bool:
        return any(f.key == "log_flops" for f in self.features)


def _columns(key: str, field: str, values: list[Any], varies: bool = False) -> list[Feature]:
    if len(values) < 2 and not varies:
        return []
    if field in CATEGORICAL:
        return [Feature(key, str(v)) for v in values]
    return [Feature(key)]


def _value(f: Feature, flat: dict[str, Any]) -> float:
    v = flat.get(f.key)
    if f.category is not None:
        return float(v is not None and str(v) == f.category)
    if v is None:
        return 0.0
    base = f.key.split(".")[-1]
    return math.log2(1 + float(v)) if base in LOG_WIDTH else float(v)


# --- the models ---------------------------------------------------------------------------------
def _ridge(seed: int) -> RegressorMixin:
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))


def _boosting(seed: int) -> RegressorMixin:
    return GradientBoostingRegressor(
        n_estimators=200, learning_rate=0.05, max_depth=2, subsample=0.8, random_state=seed
    )


def _forest(seed: int) -> RegressorMixin:
    return RandomForestRegressor(n_estimators=200, min_samples_leaf=3, max_features=0.5, random_state=seed)


def _ridge_boosting(seed: int) -> RegressorMixin:
    return VotingRegressor([("ridge", _ridge(seed)), ("boosting", _boosting(seed))])


MODELS: dict[str, Callable[[int], RegressorMixin]] = {
    "ridge": _ridge,
    "boosting": _boosting,
    "forest": _forest,
    "ridge+boosting": _ridge_boosting,
}


def check_settings(model: str, features: str, folds: int) -> None:
    if model not in MODELS:
        raise UnknownName("surrogate model", model, MODELS, field="--model")
    if features not in FEATURE_SETS:
        raise UnknownName("feature set", features, FEATURE_SETS, field="--features")
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}.")


# --- the rows a surrogate learns from -----------------------------------------------------------
@dataclass(frozen=True)
class TrainingSet:
    """The table's architectures with a value for every target at one budget."""

    archs: tuple[Architecture, ...]
    params: np.ndarray
    flops: np.ndarray
    targets: dict[str, np.ndarray]  # TARGETS -> values (times in seconds)
    dropped: int = 0  # architectures without a completed run at the budget

    @classmethod
    def of(cls, bench: Benchmark, epochs: int | None, folds: int = 2) -> TrainingSet:
        col = bench.column(epochs)
        values = {"val_acc": bench.val_acc[:, col], "test_acc": bench.test_acc[:, col]}
        values["train_time_s"] = bench.train_time_s[:, col]
        keep = np.all([np.isfinite(v) for v in values.values()], axis=0) & (values["train_time_s"] > 0)
        needed = max(MIN_ARCHS, 2 * folds)
        if keep.sum() < needed:
            raise ConfigError(
                f"benchmark {bench.name!r} has {int(keep.sum())} architectures with a completed run at "
                f"{bench.budgets[col]} epochs; a surrogate needs at least {needed} "
                f"({MIN_ARCHS} or more, and 2 per fold of --folds {folds})."
            )
        rows = np.flatnonzero(keep)
        return cls(
            tuple(bench.archs[i] for i in rows),
            bench.params[rows],
            bench.flops[rows],
            {k: v[rows] for k, v in values.items()},
            int((~keep).sum()),
        )

    def __len__(self) -> int:
        return len(self.archs)

    def matrix(self, encoding: Encoding) -> np.ndarray:
        sizes = zip(self.params, self.flops, strict=True)
        return np.array([encoding.encode(a, s) for a, s in zip(self.archs, sizes, strict=True)], dtype=float)


def _fit_target(target: str, y: np.ndarray) -> np.ndarray:
    return np.log(y) if target == "train_time_s" else y


def _from_fit(target: str, y: np.ndarray) -> np.ndarray:
    return np.exp(y) if target == "train_time_s" else y


# --- held-out quality ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """Pooled held-out predictions of validation accuracy against the table's."""

    folds: int
    seed: int
    n: int
    tau: float
    rmse: float
    mae: float
    tau_flops: float  # ranking by FLOPs (more = better), the same architectures
    tau_params: float


def held_out_predictions(x: np.ndarray, y: np.ndarray, model: str, folds: int, seed: int) -> np.ndarray:
    """Each row predicted by ``model`` fitted on the other folds (k-fold, shuffled by ``seed``)."""
    predicted = np.empty_like(y)
    for fit_rows, held_out in KFold(folds, shuffle=True, random_state=seed).split(x):
        predicted[held_out] = MODELS[model](seed).fit(x[fit_rows], y[fit_rows]).predict(x[held_out])
    return predicted


def cross_validate(
    train: TrainingSet, encoding: Encoding, model: str, folds: int, seed: int
) -> tuple[Evaluation, np.ndarray]:
    """K-fold held-out predictions of validation accuracy, and their figures."""
    y = train.targets["val_acc"]
    predicted = held_out_predictions(train.matrix(encoding), y, model, folds, seed)
    error = predicted - y
    ev = Evaluation(
        folds,
        seed,
        len(y),
        kendall_tau(predicted, y),
        float(np.sqrt(np.mean(error**2))),
        float(np.mean(np.abs(error))),
        kendall_tau(train.flops, y),
        kendall_tau(train.params, y),
    )
    return ev, predicted


# --- a fitted surrogate ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Origin:
    """What the surrogate was fitted on: a replay refuses a benchmark it does not fit."""

    benchmark: str
    table_digest: str
    space: dict[str, Any]
    space_digest: str
    epochs: int
    data: dict[str, Any]
    recipe: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int


@dataclass(frozen=True, eq=False)
class Surrogate:
    model: str
    features: str
    seed: int
    origin: Origin
    train: TrainingSet
    evaluation: Evaluation
    encoding: Encoding
    estimators: dict[str, RegressorMixin]

    def describe(self) -> str:
        ev = self.evaluation
        return (
            f"{self.model} on {self.features} ({len(self.encoding.features)} columns), fitted on "
            f"{self.origin.benchmark} at {self.origin.epochs} epochs ({len(self.train)} architectures; "
            f"held-out tau {ev.tau:.3f}, RMSE {ev.rmse:.4f})"
        )

    def predict(self, archs: Sequence[Architecture]) -> dict[str, np.ndarray]:
        """Predicted validation and test accuracy and training time (s) of each architecture."""
        x = np.array([self.encoding.encode(a, self._size(a)) for a in archs], dtype=float).reshape(len(archs), -1)
        return {t: _from_fit(t, self.estimators[t].predict(x)) for t in TARGETS}

    def _size(self, arch: Architecture) -> tuple[float, float] | None:
        if not self.encoding.with_size:
            return None
        params, flops = figures(arch, self.origin.input_shape, self.origin.num_classes)
        return float(params), float(flops)

    def check(self, bench: Benchmark, epochs: int | None, where: str = "surrogate") -> None:
        """Refuse a benchmark of another space, data set or recipe, or a replay at another budget."""
        o = self.origin
        if space_digest(bench.space) != o.space_digest:
            raise ConfigError(
                f"{where} was fitted on the space of benchmark {o.benchmark!r} ({o.space.get('name')}), "
                f"not on that of {bench.name!r} ({bench.space.name}): fit one on {bench.name!r}."
            )
        for what in ("data", "recipe"):
            if _canonical(bench.info.get(what)) != _canonical(getattr(o, what)):
                raise ConfigError(
                    f"{where} was fitted on {o.benchmark!r}, whose {what} differs from {bench.name!r}'s: "
                    f"fit one on {bench.name!r}."
                )
        if bench.budgets[bench.column(epochs)] != o.epochs:
            raise ConfigError(
                f"{where} predicts accuracy after {o.epochs} epochs; replay {bench.name!r} with --epochs {o.epochs}."
            )

    def rows(self, bench: Benchmark, col: int) -> SurrogateRows:
        """Answers for a replay of ``bench`` at budget column ``col`` (refused if it does not fit)."""
        self.check(bench, bench.budgets[col])
        return SurrogateRows(self, bench, col)

    # --- the file ---
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model,
            "features": self.features,
            "seed": self.seed,
            "sklearn": sklearn.__version__,
            "origin": asdict(self.origin),
            "evaluation": asdict(self.evaluation),
            "columns": [f.name for f in self.encoding.features],
            "training": {
                "archs": [a.to_dict() for a in self.train.archs],
                "params": self.train.params.tolist(),
                "flops": self.train.flops.tolist(),
                **{t: v.tolist() for t, v in self.train.targets.items()},
                "dropped": self.train.dropped,
            },
            "fitted": {t: v.tolist() for t, v in self.predict(self.train.archs).items()},
        }

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n")
        return path


def fit_surrogate(
    bench: Benchmark,
    epochs: int | None = None,
    model: str = DEFAULT_MODEL,
    features: str = DEFAULT_FEATURES,
    folds: int = 5,
    seed: int = 0,
) -> Surrogate:
    """Evaluate ``model`` on held-out folds of ``bench``, then fit it on every row."""
    check_settings(model, features, folds)
    train = TrainingSet.of(bench, epochs, folds)
    encoding = Encoding.of_space(bench.space, features == "encoding+size")
    evaluation, _ = cross_validate(train, encoding, model, folds, seed)
    origin = Origin(
        bench.name,
        table_digest(bench),
        bench.space.model_dump(mode="json"),
        space_digest(bench.space),
        bench.budgets[bench.column(epochs)],
        dict(bench.info.get("data") or {}),
        dict(bench.info.get("recipe") or {}),
        tuple(bench.input_shape),
        int((bench.info.get("dataset") or {}).get("num_classes", 10)),
    )
    return Surrogate(model, features, seed, origin, train, evaluation, encoding, _fit_all(train, encoding, model, seed))


def _fit_all(train: TrainingSet, encoding: Encoding, model: str, seed: int) -> dict[str, RegressorMixin]:
    x = train.matrix(encoding)
    return {t: MODELS[model](seed).fit(x, _fit_target(t, train.targets[t])) for t in TARGETS}


def load_surrogate(path: Path) -> Surrogate:
    """A surrogate file, fitted again; a file of another format or whose refit differs is refused."""
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the surrogate file ({e}).") from e
    if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
        found = (d.get("format"), d.get("version")) if isinstance(d, dict) else (None, None)
        raise ConfigError(
            f"{path}: not a nasbench surrogate file (format {found[0]!r}, version {found[1]!r}; "
            f"expected {FORMAT!r}, {VERSION})."
        )
    try:
        s, saved = _from_dict(d, path)
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError) as e:  # a field missing, or a value of the wrong kind
        raise ConfigError(f"{path}: a field of the surrogate file is missing or malformed ({e!r}).") from e
    again = s.predict(s.train.archs)
    if not all(np.allclose(again[k], saved[k], rtol=REFIT_TOLERANCE, atol=0.0) for k in TARGETS):
        worst = max(float(np.max(np.abs(again[k] / saved[k] - 1))) for k in TARGETS)
        raise ConfigError(
            f"{path}: fitted again here the surrogate predicts differently (by up to {worst:.2%}; scikit-learn "
            f"{sklearn.__version__} here, {d.get('sklearn')} when saved); fit it again with nasbench bench surrogate."
        )
    return s


def _from_dict(d: dict[str, Any], path: Path) -> tuple[Surrogate, dict[str, np.ndarray]]:
    """The surrogate a file describes, fitted again, and the predictions saved with it."""
    check_settings(d["model"], d["features"], d["evaluation"]["folds"])
    origin = Origin(**{**d["origin"], "input_shape": tuple(d["origin"]["input_shape"])})
    t = d["training"]
    train = TrainingSet(
        tuple(Architecture.from_dict(a) for a in t["archs"]),
        np.array(t["params"], dtype=float),
        np.array(t["flops"], dtype=float),
        {k: np.array(t[k], dtype=float) for k in TARGETS},
        int(t["dropped"]),
    )
    encoding = Encoding.of_space(parse_space(origin.space, f"{path}: space"), d["features"] == "encoding+size")
    estimators = _fit_all(train, encoding, d["model"], int(d["seed"]))
    s = Surrogate(
        d["model"], d["features"], int(d["seed"]), origin, train, Evaluation(**d["evaluation"]), encoding, estimators
    )
    return s, {k: np.array(d["fitted"][k], dtype=float) for k in TARGETS}


# --- identities -------------------------------------------------------------------------------------
def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def space_digest(spec: SpaceSpec) -> str:
    """sha256 of the space's choices (its name and description left out)."""
    d = spec.model_dump(mode="json", exclude={"name", "description"})
    return hashlib.sha256(_canonical(d).encode()).hexdigest()


def table_digest(bench: Benchmark) -> str:
    """sha256 of a table's space, budgets, architectures and per-budget values."""

    def cells(a: np.ndarray) -> list[Any]:
        return [[None if not math.isfinite(v) else float(f"{v:.6g}") for v in row] for row in a.tolist()]

    d = {
        "space": space_digest(bench.space),
        "budgets": list(bench.budgets),
        "archs": [a.digest() for a in bench.archs],
        "val_acc": cells(bench.val_acc),
        "test_acc": cells(bench.test_acc),
        "train_time_s": cells(bench.train_time_s),
    }
    return hashlib.sha256(_canonical(d).encode()).hexdigest()


# --- answering a replay -------------------------------------------------------------------------
class SurrogateRows:
    """A replay's answers: the table's rows, then the architectures it lacks as rows numbered
    from ``len(bench)`` in the order they were first asked, valued by the surrogate."""

    def __init__(self, surrogate: Surrogate, bench: Benchmark, col: int) -> None:
        self.surrogate, self.bench, self.col = surrogate, bench, col
        self._row: dict[str, int] = {}
        self._values: list[tuple[float, float, float]] = []

    def lookup(self, arch: Architecture) -> tuple[int, bool]:
        """The table's row and True, or the architecture's surrogate row and False."""
        digest = arch.digest()
        exact = self.bench.index.get(digest)
        if exact is not None:
            return exact, True
        if digest not in self._row:
            p = self.surrogate.predict([arch])
            self._row[digest] = len(self.bench) + len(self._values)
            self._values.append((float(p["val_acc"][0]), float(p["test_acc"][0]), float(p["train_time_s"][0])))
        return self._row[digest], False

    def values(self, row: int) -> tuple[float, float, float]:
        """Validation accuracy, test accuracy and training time (s) of a row."""
        if row < len(self.bench):
            b, col = self.bench, self.col
            return float(b.val_acc[row, col]), float(b.test_acc[row, col]), float(b.train_time_s[row, col])
        return self._values[row - len(self.bench)]
