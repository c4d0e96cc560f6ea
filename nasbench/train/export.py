"""Export: re-train a searched architecture with the evaluator, write it, and check what was written.

No weights are kept during a search, so an architecture is re-trained exactly as its trial was
(same data, split, recipe, fidelity, seed and thread count; on CPU) by the same evaluator. The
exported artifact is then run over the normalised test split, and its accuracy is compared with
the re-trained in-memory model's and with the stored test accuracy, when there is one. The
metadata records every preprocessing step from the data set's native arrays to the network's
input; the recorded steps are run with NumPy over the test split and checked against the tensor
the model was tested on.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasbench.data.spec import DataSpec, Task
from nasbench.errors import ConfigError
from nasbench.space.architecture import Architecture
from nasbench.train.evaluate import Candidate, ScratchEvaluator, Trained
from nasbench.train.recipe import Fidelity, Recipe

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}
EVAL_BATCH = 1024
PREPROCESSING_TOLERANCE = 1e-4  # the recorded steps in NumPy vs the tensors in torch (max abs diff)


@dataclass(frozen=True)
class ExportJob:
    """One stored run to re-create and export: what it was, how it was trained, what it scored."""

    study: str
    trial: int
    arch: Architecture
    data: DataSpec
    data_hash: str  # the content the study ran on: other data is refused
    recipe: Recipe
    fidelity: Fidelity
    seed: int
    threads: int
    fmt: str
    out_dir: Path
    stem: str  # file name stem, e.g. <study>_trial<N>
    stored_val_acc: float | None = None  # the stored run at this fidelity, when there is one
    stored_test_acc: float | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ConfigError(f"--format {self.fmt!r}: choose one of {', '.join(FORMATS)}.")


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
    preprocessing_max_abs_diff: float  # the recorded preprocessing, run in NumPy, vs the tested tensor
    stored_val_acc: float | None  # the stored run at the same fidelity, if any
    stored_test_acc: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def export_matches(self) -> bool:
        return self.prediction_mismatches == 0 and self.exported_test_acc == self.retrained_test_acc

    @property
    def preprocessing_matches(self) -> bool:
        return self.preprocessing_max_abs_diff <= PREPROCESSING_TOLERANCE

    @property
    def reproduces_stored(self) -> bool | None:
        return None if self.stored_test_acc is None else abs(self.retrained_test_acc - self.stored_test_acc) < 1e-9


def check_export(job: ExportJob) -> Task:
    """What can be checked before the re-training: the output folder, and the data (loaded, and its
    content hash checked against the study's); returns the loaded data for :func:`export_model`."""
    out = job.out_dir
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the exported files.")
    ancestor = next(p for p in (out.absolute(), *out.absolute().parents) if p.exists())
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: cannot write into {ancestor}.")
    return job.data.load(expect_hash=job.data_hash)


def export_model(job: ExportJob, task: Task | None = None) -> ExportResult:
    """Re-train ``job``'s architecture, write ``<stem>.pt|.onnx``, ``<stem>.arch.json`` (the
    Architecture) and ``<model file>.json`` (input shape, preprocessing, classes, training, check).

    ``task``: the data :func:`check_export` returned (checked here when not given)."""
    task = task if task is not None else check_export(job)
    trained = ScratchEvaluator(task, job.recipe, device="cpu", threads=job.threads).train(
        Candidate(arch=job.arch), job.fidelity, job.seed, test=True
    )
    trained.model.eval()
    job.out_dir.mkdir(parents=True, exist_ok=True)
    stem = job.out_dir / job.stem
    model_path = Path(f"{stem}{FORMATS[job.fmt]}")
    exported_acc, in_memory_acc, mismatches = verify(trained, job.fmt, model_path)
    result = ExportResult(
        study=job.study,
        trial=job.trial,
        format=job.fmt,
        model_path=str(model_path),
        architecture_path=f"{stem}.arch.json",
        metadata_path=f"{model_path}.json",
        fidelity=job.fidelity.model_dump(mode="json"),
        retrained_val_acc=float(trained.evaluation.scores.val_acc or 0.0),
        retrained_test_acc=in_memory_acc,
        exported_test_acc=exported_acc,
        prediction_mismatches=mismatches,
        preprocessing_max_abs_diff=preprocessing_error(trained),
        stored_val_acc=job.stored_val_acc,
        stored_test_acc=job.stored_test_acc,
        notes=list(job.notes),
    )
    Path(result.architecture_path).write_text(job.arch.to_json() + "\n", encoding="utf-8")
    Path(result.metadata_path).write_text(
        json.dumps(metadata(job, task, trained, result), indent=2) + "\n", encoding="utf-8"
    )
    return result


def verify(trained: Trained, fmt: str, model_path: Path) -> tuple[float, float, int]:
    """Write the artifact, run it back over the test split: (its accuracy, in-memory accuracy, disagreements)."""
    x_test, y_test = trained.data.tensors["test"]
    model = trained.model
    predict = EXPORTERS[fmt](model, x_test[:2], model_path)  # an example batch of 1 would fix the batch size
    exported = predictions(predict, x_test)
    in_memory = predictions(lambda x: model(x).detach().numpy(), x_test)
    return accuracy(exported, y_test), accuracy(in_memory, y_test), int((exported != in_memory).sum())


def preprocessing_error(trained: Trained) -> float:
    """The largest difference between the test tensor and the recorded steps run in NumPy over the
    loaded test arrays (the loader itself applies the recorded steps before them)."""
    dm = trained.data
    x, _ = dm.test_arrays()
    x = x[dm.split.test]
    for step in dm.tensor_steps():
        x = step.apply(x)
    tested = dm.tensors["test"][0].numpy()
    if x.shape != tested.shape:
        return float("inf")
    return float(np.abs(x - tested).max(initial=0.0))


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
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamic_shapes=({0: batch},),
        dynamo=True,
        external_data=False,
        verbose=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.numpy()})[0]


EXPORTERS: dict[str, Callable[[nn.Module, torch.Tensor, Path], Predictor]] = {
    "torchscript": export_torchscript,
    "onnx": export_onnx,
}


def predictions(predict: Predictor, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([predict(x[i : i + EVAL_BATCH]).argmax(1) for i in range(0, len(x), EVAL_BATCH)])


def accuracy(pred: np.ndarray, y: torch.Tensor) -> float:
    return float((pred == y.numpy()).mean())


def metadata(job: ExportJob, task: Task, trained: Trained, result: ExportResult) -> dict[str, Any]:
    """What a user of the exported file needs: input layout, preprocessing, classes, provenance, check."""
    dm, dataset = trained.data, task.dataset
    return {
        "study": job.study,
        "trial": result.trial,
        "format": result.format,
        "model_file": Path(result.model_path).name,
        "architecture_file": Path(result.architecture_path).name,
        "architecture_summary": job.arch.summary(),
        "input": {
            "shape": ["N", *dm.input_shape],
            "dtype": "float32",
            # native arrays -> steps, in order -> the input tensor
            "preprocessing": dm.preprocessing().model_dump(mode="json"),
        },
        "output": "logits, shape [N, num_classes]; the predicted class is the argmax",
        "classes": list(dataset.class_names) or [str(i) for i in range(dataset.num_classes)],
        "data": {"name": dataset.name, "content_sha256": task.content_hash, "split": task.split_info().to_dict()},
        "training": {
            "fidelity": result.fidelity,
            "recipe": job.recipe.model_dump(mode="json"),
            "seed": job.seed,
            "device": "cpu",
        },
        "latency_ms_batch1": trained.evaluation.latency_ms,
        "check": {
            k: v
            for k, v in asdict(result).items()
            if k.endswith("acc") or k in ("prediction_mismatches", "preprocessing_max_abs_diff", "notes")
        }
        | {
            "export_matches": result.export_matches,
            "preprocessing_matches": result.preprocessing_matches,
            "reproduces_stored": result.reproduces_stored,
        },
        "torch": torch.__version__,
    }
