"""Documented figures: zoo names map onto rows of the reference CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nasbench.errors import ConfigError
from nasbench.zoo import documented_figures, list_models, model_info
from nasbench.zoo.figures import documented_rows

REPO = Path(__file__).resolve().parents[2]
SHARED_CSV = REPO.parent / "shared" / "reference" / "documented_architectures.csv"

MAPPING = {
    "lenet5": "LeNet-5", "alexnet": "AlexNet", "vgg16": "VGG-16", "vgg19": "VGG-19",
    "googlenet": "GoogLeNet", "resnet101": "ResNet-101", "resnet152": "ResNet-152",
    "densenet121": "DenseNet-121", "se_resnet152": "SE-ResNet-152",
    "mobilenet_v1": "MobileNet-V1", "mobilenet_v2": "MobileNet-V2",
    "mobilenet_v3_large": "MobileNet-V3-Large", "efficientnet_b7": "EfficientNet-B7",
    "convnext_base": "ConvNeXt-B", "convnext_xlarge": "ConvNeXt-XL",
}


def test_zoo_names_map_to_their_rows() -> None:
    for name in list_models():
        row = documented_figures(name)
        assert (row["name"] if row else None) == MAPPING.get(name), name


def test_every_row_but_the_neocognitron_is_in_the_zoo() -> None:
    assert set(documented_rows()) - set(MAPPING.values()) == {"Neocognitron"}


def test_rows_are_typed_and_keep_their_source() -> None:
    vgg16 = documented_figures("vgg16")
    assert vgg16 is not None
    assert vgg16["params"] == 138_000_000
    assert vgg16["imagenet_top5_error_pct"] == 7.3
    assert vgg16["imagenet_top1_error_pct"] is None
    assert vgg16["source"] == "seed 000"
    assert documented_figures("efficientnet_b7")["imagenet_top1_error_pct"] == 15.7


def test_batchnorm_variants_are_not_the_documented_networks() -> None:
    assert documented_figures("vgg16_bn") is None
    assert model_info("vgg16_bn").documented_name is None


def test_unknown_name_raises() -> None:
    with pytest.raises(ConfigError):
        documented_figures("vgg17")


@pytest.mark.skipif(not SHARED_CSV.exists(), reason="no shared reference folder beside the repo")
def test_packaged_csv_is_the_shared_reference() -> None:
    with SHARED_CSV.open(newline="") as f:
        shared = {row["name"]: row for row in csv.DictReader(f)}
    assert set(shared) == set(documented_rows())
    assert all(documented_rows()[n]["source"] == shared[n]["source"] for n in shared)
