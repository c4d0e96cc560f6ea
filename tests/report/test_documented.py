"""Documented figures come from the shipped reference tables, matched to the study's data set."""

from __future__ import annotations

import csv
from pathlib import Path

from nasbench.report import documented

SHARED = Path(__file__).resolve().parents[2] / "nasbench" / "report" / "reference"


def test_fashion_mnist_gets_its_published_benchmark_table():
    title, rows = documented.dataset_rows("fashion_mnist")
    with open(SHARED / "fashion_mnist_documented.csv") as f:
        published = list(csv.DictReader(f))
    assert "Fashion-MNIST" in title
    assert list(rows["name"]) == [r["classifier"] for r in published]
    assert list(rows["accuracy"]) == [float(r["fashion_test_accuracy"]) for r in published]
    resnet = rows[rows["name"] == "ResNet18"].iloc[0]
    assert resnet["figure"].startswith("test accuracy 94.90%")


def test_a_data_set_without_a_published_table_gets_none():
    title, rows = documented.dataset_rows("digits")
    assert title is None and rows.empty


def test_classics_say_which_zoo_baseline_implements_them():
    rows = documented.classics(["vgg16", "resnet18", "not_a_zoo_model"])
    vgg = rows[rows["name"] == "VGG-16"].iloc[0]
    assert "zoo baseline here: vgg16" in vgg["source"]
    assert vgg["params"] == 138_000_000 and vgg["figure"] == "ImageNet top-5 error 7.3%"
    assert rows["accuracy"].isna().all()  # ImageNet figures are never placed on this task's accuracy axis
