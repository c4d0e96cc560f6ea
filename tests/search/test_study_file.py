"""Loading and validating study files (unit tests, no training)."""

from __future__ import annotations

import pytest

from nasbench.errors import ConfigError
from nasbench.search.config import load_study
from tests.conftest import ROOT, write_study


def test_shipped_quickstart_study_loads():
    loaded = load_study(ROOT / "studies" / "quickstart.yaml")
    cfg = loaded.config
    assert cfg.name == "quickstart" and cfg.data.name == "fashion_mnist"
    assert cfg.sampler.name == "tpe" and cfg.budget.trials and cfg.fidelity.train_fraction < 1
    assert loaded.space.name == "tiny"
    assert cfg.directions == ["maximize"]
    assert len(loaded.file_hash) == 64


def test_defaults_and_relative_space_path(tmp_path):
    (tmp_path / "spaces").mkdir()
    (tmp_path / "spaces" / "s.yaml").write_text((ROOT / "search_spaces" / "tiny.yaml").read_text())
    path = write_study(tmp_path, space="spaces/s.yaml", sampler=None, recipe=None, resources=None)
    cfg = load_study(path).config
    assert cfg.sampler.name == "tpe" and cfg.recipe.optimizer == "adamw" and cfg.resources.cpu == 1


def test_time_budget_string(tmp_path):
    cfg = load_study(write_study(tmp_path, budget="{time: 2m}")).config
    assert cfg.budget.time == 120 and cfg.budget.trials is None


@pytest.mark.parametrize("override, message", [
    ({"budget": "{}"}, "give trials, time or both"),
    ({"objectives": "[params]"}, "the first objective must be val_acc"),
    ({"objectives": "[val_acc, speed]"}, "unknown objective 'speed'"),
    ({"constraints": "{memory: 3}"}, "unknown constraint 'memory'"),
    ({"recipe": "{optimizer: lion}"}, "field 'recipe.optimizer'"),
    ({"fidelity": "{epochs: 0}"}, "field 'fidelity.epochs'"),
    ({"fidelity": "{epochs: 2, train_on_val: true}"}, "field 'fidelity.train_on_val': the search ranks candidates"),
    ({"budget": "{time: soon}"}, "cannot read duration 'soon'"),
])
def test_invalid_fields_are_named(tmp_path, override, message):
    path = write_study(tmp_path, **override)
    with pytest.raises(ConfigError) as e:
        load_study(path)
    assert message in str(e.value) and str(path) in str(e.value)
