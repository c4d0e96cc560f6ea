"""The ``zoo`` sub-app: list and show."""

from __future__ import annotations

from typer.testing import CliRunner

from nasbench.cli.zoo import app
from nasbench.zoo import list_models

runner = CliRunner()


def test_list_shows_every_network_with_params_and_resolution() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in list_models():
        assert name in result.output
    assert "11,689,512" in result.output  # resnet18
    assert "600x600x3" in result.output  # efficientnet_b7
    assert "32x32x1" in result.output  # lenet5


def test_show_puts_measured_beside_documented_figures() -> None:
    result = runner.invoke(app, ["show", "vgg16"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "138,357,544" in out and "138,000,000" in out  # measured, documented
    assert "30,940,528,640" in out  # FLOPs at 224x224, a multiply-add counted as 2
    assert "212" in out  # VGG-16's receptive field
    assert "7.3%" in out and "VGG-16" in out and "seed 000" in out
    assert "small-input adaptation:" in out and "1x1" in out


def test_show_unknown_name_fails_with_one_clear_sentence() -> None:
    result = runner.invoke(app, ["show", "resnet9"], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert "unknown zoo model 'resnet9'" in result.output
