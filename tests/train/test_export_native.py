"""An exported ONNX model fed the data set's own native arrays (scikit-learn's ``load_digits()``)
through the preprocessing its metadata records, implemented by hand: the stored accuracy, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_digits

from nasbench.data.spec import DataSpec
from nasbench.space.architecture import Architecture, Stage
from nasbench.train.export import ExportJob, export_model
from nasbench.train.recipe import Fidelity, Recipe
from tests.preprocess_by_hand import preprocess

# Real training, ONNX export and onnxruntime: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow

SMALL = Architecture(
    stages=(Stage("plain", 1, 16, downsample="stride"), Stage("plain", 1, 32, downsample="stride")), stem_width=8
)


@pytest.mark.parametrize("resolution", [None, 12])
def test_sklearn_digits_through_the_recorded_preprocessing_score_the_exported_accuracy(
    tmp_path: Path, resolution: int | None
) -> None:
    spec = DataSpec(name="digits", val_size=0.2)
    task = spec.load()
    job = ExportJob(
        study="digits",
        trial=0,
        arch=SMALL,
        data=spec,
        data_hash=task.content_hash,
        recipe=Recipe(batch_size=64),
        fidelity=Fidelity(epochs=3, resolution=resolution),
        seed=0,
        threads=1,
        fmt="onnx",
        out_dir=tmp_path,
        stem="digits",
    )
    result = export_model(job, task)
    assert result.export_matches and result.preprocessing_matches
    meta = json.loads(Path(result.metadata_path).read_text())
    record = meta["input"]["preprocessing"]
    assert record["native"]["source"] == "sklearn.datasets.load_digits()"
    assert record["native"]["value_range"] == [0.0, 16.0]

    bunch = load_digits()  # exactly as scikit-learn gives them: float64 in 0..16
    test = task.split.test
    session = ort.InferenceSession(result.model_path, providers=["CPUExecutionProvider"])
    for native in (bunch.images[test], bunch.data[test]):  # (n, 8, 8) and (n, 64)
        x = preprocess(native, record)
        assert x.dtype == np.float32 and list(x.shape[1:]) == meta["input"]["shape"][1:]
        logits = session.run(None, {session.get_inputs()[0].name: x})[0]
        acc = float((logits.argmax(1) == bunch.target[test]).mean())
        assert acc == result.exported_test_acc == meta["check"]["exported_test_acc"]
    assert result.exported_test_acc > 0.5  # a trained model, not chance (0.1), so the comparison means something
