"""``export``: re-train, write the model, and reproduce the stored test accuracy from the files alone."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from nasbench.cli import app
from nasbench.data import load_dataset
from nasbench.data.split import make_split
from nasbench.errors import ConfigError
from nasbench.space.architecture import Architecture
from nasbench.store import open_ledger
from nasbench.store.exports import export_job
from nasbench.train.export import ExportResult
from nasbench.train.export import export_model as run_export
from tests.preprocess_by_hand import preprocess
from tests.report.conftest import MAIN, STUDIES, Studies

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


def export_model(url: str, study: str, **options) -> ExportResult:
    return run_export(export_job(open_ledger(url), study, **options))


def final_run(studies: Studies) -> sqlite3.Row:
    """The stored final re-training (the only one: top_k 1) of MAIN."""
    con = sqlite3.connect(studies.db)
    con.row_factory = sqlite3.Row
    row = con.execute("select t.number, t.name, t.test_acc, t.val_acc from nb_trials t join nb_studies s "
                      "on s.study_id = t.study_id where s.name = ? and t.stage = 'final'", (MAIN,)).fetchone()
    con.close()
    return row


def inputs_from_metadata(meta: dict) -> tuple[torch.Tensor, np.ndarray]:
    """The test split of scikit-learn's own digits arrays, preprocessed by hand from the metadata
    file, as a user of the export would."""
    from sklearn.datasets import load_digits

    data = STUDIES[MAIN]["data"]
    split = make_split(load_dataset(data["name"]), data["val_size"], 0.2, meta["data"]["split"]["split_seed"])
    bunch = load_digits()
    x = preprocess(bunch.images[split.test], meta["input"]["preprocessing"])
    assert list(x.shape[1:]) == meta["input"]["shape"][1:]
    return torch.from_numpy(x), bunch.target[split.test]


def test_torchscript_export_reproduces_the_stored_test_accuracy(studies: Studies, tmp_path: Path):
    final = final_run(studies)
    r = export_model(studies.url, MAIN, best=True, fmt="torchscript", out_dir=tmp_path)

    assert r.trial == final["number"]  # the best by validation accuracy is the one re-trained and tested
    assert r.prediction_mismatches == 0 and r.exported_test_acc == r.retrained_test_acc
    assert r.stored_test_acc == final["test_acc"]
    assert r.retrained_test_acc == final["test_acc"]  # CPU re-training is deterministic: same figure
    assert r.retrained_val_acc == final["val_acc"]

    meta = json.loads(Path(r.metadata_path).read_text())
    assert Architecture.from_json(Path(r.architecture_path).read_text()).summary() == final["name"]
    x, y = inputs_from_metadata(meta)
    model = torch.jit.load(r.model_path)
    with torch.no_grad():
        pred = model(x).argmax(1).numpy()
    assert float((pred == y).mean()) == final["test_acc"]
    assert meta["check"]["exported_test_acc"] == final["test_acc"] and meta["classes"][:2] == ["0", "1"]


def test_onnx_export_from_the_command_line_reproduces_it(studies: Studies, tmp_path: Path):
    import onnxruntime as ort

    final = final_run(studies)
    run = CliRunner().invoke(app, ["export", MAIN, "--trial", str(final["number"]), "--format", "onnx",
                                   "--out", str(tmp_path), "--db", studies.url])
    assert run.exit_code == 0, run.output
    pct = f"{100 * final['test_acc']:.2f}%"
    assert run.output.count(pct) == 3  # exported, re-trained, stored
    model_file = next(tmp_path.glob("*.onnx"))
    meta = json.loads(Path(f"{model_file}.json").read_text())
    x, y = inputs_from_metadata(meta)
    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    logits = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert float((logits.argmax(1) == y).mean()) == final["test_acc"]


def test_export_refuses_unknown_or_ambiguous_trials(studies: Studies, tmp_path: Path):
    with pytest.raises(ConfigError, match=r"--trial 999: study .* has no searched trial"):
        export_model(studies.url, MAIN, trial=999, out_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"--trial 0 and --best both given"):
        export_model(studies.url, MAIN, trial=0, best=True, out_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"--format 'tflite'"):
        export_model(studies.url, MAIN, fmt="tflite", out_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"'mnist1d-diverges' has no completed searched trial"):
        export_model(studies.url, "mnist1d-diverges", out_dir=tmp_path)
    assert not list(tmp_path.iterdir())
