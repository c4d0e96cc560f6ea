"""``nasbench export``: rebuild a stored architecture, re-train it, export it, and check the export.

No weights are kept during a search, so the architecture is re-trained exactly as the trial worker
trains it (same data, split, recipe, fidelity, seed and thread count; on CPU), at the study's final
fidelity (its search fidelity when it has no final section). The exported artifact is then run
over the normalised test split, and its accuracy is compared with the re-trained in-memory
model's and with the stored test accuracy, if the trial had a final evaluation.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasbench.errors import ConfigError, DataError
from nasbench.report.leaderboard import leaderboard, safe_name
from nasbench.report.study import StudyData, load_study_data
from nasbench.space.architecture import Architecture
from nasbench.store import open_engine
from nasbench.train.threads import torch_threads

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}
EVAL_BATCH = 1024


@dataclass
class ExportResult:
    """What was written, and the accuracy check's figures (fractions of the test split)."""

    study: str
    trial: int
    format: str
    model_path: str
    architecture_path: str
    metadata_path: str
    fidelity: dict[str, Any]
    retrained_val_acc: float
    retrained_test_acc: float  # the re-trained model in memory
    exported_test_acc: float  # the exported artifact, loaded back and run
    prediction_mismatches: int  # test samples where the two disagree
    stored_val_acc: float | None  # the stored run at the same fidelity, if any
    stored_test_acc: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def export_matches(self) -> bool:
        return self.prediction_mismatches == 0 and self.exported_test_acc == self.retrained_test_acc

    @property
    def reproduces_stored(self) -> bool | None:
        return None if self.stored_test_acc is None else abs(self.retrained_test_acc - self.stored_test_acc) < 1e-9


@dataclass(frozen=True)
class StoredRun:
    """The stored run an export re-creates: its seed, accuracies (when stored) and caveats."""

    seed: int
    val_acc: float | None = None
    test_acc: float | None = None
    notes: list[str] = field(default_factory=list)


def export_model(db_url: str | None, study: str, trial: int | None = None, best: bool = False,
                 fmt: str = "torchscript", out_dir: Path = Path("exports")) -> ExportResult:
    """Export trial ``trial`` of ``study`` (or, with ``best`` or no trial, its best by validation accuracy).

    Writes ``<study>_trial<N>.pt|.onnx``, ``<study>_trial<N>.arch.json`` (the Architecture) and
    ``<model file>.json`` (input shape, normalisation, classes, training, and the check's figures).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if best and trial is not None:
        raise ConfigError(f"--trial {trial} and --best both given; choose one.")
    data = load_study_data(open_engine(db_url), study)
    row = best_trial(data) if trial is None else searched_trial(data, trial)
    fidelity_key = "final" if data.config.get("final") else "search"
    stored = stored_run(data, row, fidelity_key)
    run = retrain(data, row["arch_json"], stored.seed, fidelity_key)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{safe_name(study)}_trial{int(row['number'])}"
    model_path = Path(f"{stem}{FORMATS[fmt]}")
    exported_acc, in_memory_acc, mismatches = verify(run, fmt, model_path)
    result = ExportResult(
        study=study, trial=int(row["number"]), format=fmt, model_path=str(model_path),
        architecture_path=f"{stem}.arch.json", metadata_path=f"{model_path}.json", fidelity=run.fidelity,
        retrained_val_acc=run.val_acc, retrained_test_acc=in_memory_acc, exported_test_acc=exported_acc,
        prediction_mismatches=mismatches, stored_val_acc=stored.val_acc, stored_test_acc=stored.test_acc,
        notes=stored.notes,
    )
    Path(result.architecture_path).write_text(run.arch.to_json() + "\n", encoding="utf-8")
    Path(result.metadata_path).write_text(json.dumps(metadata(data, run, result), indent=2) + "\n", encoding="utf-8")
    return result


def verify(run: Retrained, fmt: str, model_path: Path) -> tuple[float, float, int]:
    """Write the artifact, run it back over the test split: (its accuracy, in-memory accuracy, disagreements)."""
    x_test, y_test = run.test
    predict = EXPORTERS[fmt](run.model, x_test[:2], model_path)  # an example batch of 1 would fix the batch size
    exported = predictions(predict, x_test)
    in_memory = predictions(lambda x: run.model(x).detach().numpy(), x_test)
    return accuracy(exported, y_test), accuracy(in_memory, y_test), int((exported != in_memory).sum())


# --- which trial -------------------------------------------------------------------------------

def best_trial(data: StudyData) -> pd.Series:
    """The rank-1 searched architecture (by validation accuracy; never test)."""
    board = leaderboard(data)
    searched = board[board["family"] == "searched"]
    if searched.empty:
        raise ConfigError(f"study {data.name!r} has no completed searched trial to export.")
    return searched_trial(data, int(searched["number"].iloc[0]))


def searched_trial(data: StudyData, number: int) -> pd.Series:
    t = data.trials
    rows = t[(t["stage"] == "search") & (t["family"] == "searched") & (t["number"] == number)]
    if rows.empty:
        base = t[(t["family"] == "baseline") & (t["number"] == number)]
        if len(base):
            raise ConfigError(f"--trial {number} is the zoo baseline {base['name'].iloc[0]!r}; export rebuilds "
                              "searched architectures only.")
        raise ConfigError(f"--trial {number}: study {data.name!r} has no searched trial with that number.")
    row = rows.iloc[0]
    if row["state"] != "complete":
        raise ConfigError(f"--trial {number}: the trial is {row['state']}; export a completed trial.")
    return row


def stored_run(data: StudyData, row: pd.Series, fidelity_key: str) -> StoredRun:
    """The stored run at the fidelity the export re-trains at: the final re-training, else the search trial."""
    t, number = data.trials, int(row["number"])
    notes = []
    if float(data.config.get("resources", {}).get("gpu", 0)) > 0:
        notes.append("the study trained on GPU and the export re-trains on CPU, so figures may differ slightly.")
    if fidelity_key == "search":
        notes.append("the study has no final section: re-trained at search fidelity, where no test accuracy "
                     "is stored.")
        return StoredRun(int(row["seed"]), _float(row["val_acc"]), None, notes)
    final = t[(t["stage"] == "final") & (t["number"] == number) & (t["state"] == "complete")
              & (t["family"] == "searched")]
    if final.empty:
        notes.append(f"trial {number} had no final training stored (it was not selected for "
                     "final training), so there is no stored test accuracy to compare.")
        return StoredRun(int(row["seed"]), None, None, notes)
    r = final.iloc[0]
    return StoredRun(int(r["seed"]), _float(r["val_acc"]), _float(r["test_acc"]), notes)


def _float(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


# --- re-training, as the trial worker does it --------------------------------------------------

@dataclass
class Retrained:
    arch: Architecture
    model: nn.Module
    fidelity: dict[str, Any]
    seed: int
    val_acc: float
    test: tuple[torch.Tensor, torch.Tensor]
    mean: list[float]
    std: list[float]
    input_shape: tuple[int, ...]
    latency_ms: float  # batch 1, this machine, measured as the worker does before training
    class_names: list[str]
    pixel_divisor: float  # uint8 data is divided by 255 before normalisation


def retrain(data: StudyData, arch_json: str, seed: int, fidelity_key: str) -> Retrained:
    """Re-train an architecture with the sequence of ``nasbench.search.worker.run_trial``, on CPU."""
    from nasbench.data.module import TensorDataModule
    from nasbench.measure.runtime import latency
    from nasbench.search.worker import build_model
    from nasbench.train.recipe import Fidelity, Recipe
    from nasbench.train.run import augment_from, train_network

    cfg = data.config
    dataset, split = load_data(data)
    recipe = Recipe(**cfg["recipe"])
    fid = Fidelity(**(cfg["final"]["fidelity"] if fidelity_key == "final" else cfg["fidelity"]))
    with torch_threads(max(1, int(cfg.get("resources", {}).get("cpu", 1)))):
        torch.manual_seed(seed)
        model, arch_resolution = build_model({"arch": arch_json}, dataset)
        dm = TensorDataModule(dataset, split, batch_size=recipe.batch_size, train_fraction=fid.train_fraction,
                              resolution=fid.resolution or arch_resolution, augment=augment_from(recipe), seed=seed)
        latency_ms = latency(model, dm.input_shape, batch_sizes=(1,), device="cpu").median_ms[1]
        result = train_network(model, dm, recipe, fid.epochs, seed=seed, evaluate_test=True, device="cpu")
    model.eval()
    return Retrained(
        arch=Architecture.from_json(arch_json), model=model, fidelity=fid.model_dump(mode="json"), seed=seed,
        val_acc=result.val_acc, test=dm.tensors["test"], mean=dm.mean.flatten().tolist(),
        std=dm.std.flatten().tolist(), input_shape=dm.input_shape, latency_ms=latency_ms,
        class_names=list(dataset.class_names) or [str(i) for i in range(dataset.num_classes)],
        pixel_divisor=255.0 if dataset.x.dtype == np.uint8 else 1.0,
    )


def load_data(data: StudyData):
    """The study's data set and split, refused if the data set's content changed since the study ran."""
    from nasbench.data import load_dataset
    from nasbench.data.split import make_split

    d = data.config["data"]
    dataset = load_dataset(d["name"], **d.get("options", {}))
    stored_hash = data.dataset.get("content_hash")
    if stored_hash and dataset.content_hash() != stored_hash:
        raise DataError(f"data set {d['name']!r} now has content sha256 {dataset.content_hash()[:12]}, but study "
                        f"{data.name!r} ran on {stored_hash[:12]}; its accuracy cannot be reproduced on other data.")
    return dataset, make_split(dataset, d["val_size"], d["test_size"], d["split_seed"])


# --- exporters: each writes the artifact and returns a predictor that runs the written file ------

Predictor = Callable[[torch.Tensor], np.ndarray]


def export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> Predictor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated but asked for
        torch.jit.trace(model, example).save(str(path))
        loaded = torch.jit.load(str(path))
    loaded.eval()
    return lambda x: loaded(x).detach().numpy()


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> Predictor:
    import onnxruntime as ort

    batch = torch.export.Dim("batch")
    torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_shapes=({0: batch},), dynamo=True, external_data=False, verbose=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.numpy()})[0]


EXPORTERS: dict[str, Callable[[nn.Module, torch.Tensor, Path], Predictor]] = {
    "torchscript": export_torchscript, "onnx": export_onnx}


def predictions(predict: Predictor, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([predict(x[i:i + EVAL_BATCH]).argmax(1) for i in range(0, len(x), EVAL_BATCH)])


def accuracy(pred: np.ndarray, y: torch.Tensor) -> float:
    return float((pred == y.numpy()).mean())


def metadata(data: StudyData, run: Retrained, result: ExportResult) -> dict[str, Any]:
    """What a user of the exported file needs: input layout, preprocessing, classes, provenance, check."""
    return {
        "study": data.name, "trial": result.trial, "format": result.format,
        "model_file": Path(result.model_path).name, "architecture_file": Path(result.architecture_path).name,
        "architecture_summary": run.arch.summary(),
        "input": {
            "shape": ["N", *run.input_shape], "dtype": "float32",
            "preprocessing": "x = float32(raw) / pixel_divisor; resize spatial dims to shape if they differ "
                             "(linear interpolation); x = (x - mean[c]) / std[c] per channel c",
            "pixel_divisor": run.pixel_divisor, "mean": run.mean, "std": run.std,
        },
        "output": "logits, shape [N, num_classes]; the predicted class is the argmax",
        "classes": run.class_names,
        "data": {"name": data.dataset["name"], "content_sha256": data.dataset.get("content_hash"),
                 "split": data.split},
        "training": {"fidelity": run.fidelity, "recipe": data.config["recipe"], "seed": run.seed, "device": "cpu"},
        "latency_ms_batch1": run.latency_ms,
        "check": {k: v for k, v in asdict(result).items()
                  if k.endswith("acc") or k in ("prediction_mismatches", "notes")}
                 | {"export_matches": result.export_matches, "reproduces_stored": result.reproduces_stored},
        "torch": torch.__version__,
    }
