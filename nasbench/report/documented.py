"""Documented (published) figures shown beside a study's measured results, never mixed with them.

Two sources, both shipped as package data under ``reference/``: the benchmark table published with
the study's own data set (when one exists), and the documented classics on ImageNet, as context.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

# Published benchmark tables per data set: (file, title, accuracy column, note column, note label).
DATASET_TABLES = {
    "fashion_mnist": (
        "fashion_mnist_documented.csv",
        "Fashion-MNIST benchmark table (published test accuracy, from the data set's README)",
        "fashion_test_accuracy",
        "preprocessing",
        "preprocessing",
    ),
    "mnist1d": (
        "mnist1d_documented.csv",
        "MNIST-1D baselines (published test accuracy, Greydanus 2020, on the default 4000/1000 split)",
        "mnist1d_test_accuracy",
        "note",
        "source",
    ),
}
CLASSICS_FILE = "documented_architectures.csv"
CLASSICS_TITLE = (
    "The documented classics on ImageNet (context only: another task, 1000 classes at 224x224; published figures)"
)
COLUMNS = ["name", "params", "accuracy", "figure", "source"]


@dataclass(frozen=True)
class Documented:
    """Documented rows for one study: its data set's published table and the ImageNet classics."""

    dataset_title: str | None
    dataset_rows: pd.DataFrame  # COLUMNS; ``accuracy`` is the published test accuracy (fraction)
    classics: pd.DataFrame  # COLUMNS; ``accuracy`` is None: ImageNet figures are not comparable

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        out = [(self.dataset_title, self.dataset_rows)] if self.dataset_title else []
        return [*out, (CLASSICS_TITLE, self.classics)]


@cache
def reference_csv(file: str) -> pd.DataFrame:
    """A reference table shipped in ``nasbench/report/reference``."""
    text = resources.files("nasbench.report").joinpath("reference", file).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text))


def dataset_rows(dataset: str) -> tuple[str | None, pd.DataFrame]:
    """The published benchmark table of ``dataset`` (title, rows), or (None, empty) when none is shipped."""
    if dataset not in DATASET_TABLES:
        return None, pd.DataFrame(columns=COLUMNS)
    file, title, acc_col, note_col, note_label = DATASET_TABLES[dataset]
    df = reference_csv(file)
    notes = df[note_col].fillna("").astype(str)
    rows = pd.DataFrame(
        {
            "name": df.iloc[:, 0].astype(str),
            "params": df["params"].astype("Int64"),
            "accuracy": df[acc_col].astype(float),
            "figure": [
                f"test accuracy {100 * a:.2f}%" + (f" ({note_label}: {n})" if n else "")
                for a, n in zip(df[acc_col], notes)
            ],
            "source": file,
        }
    )
    return title, rows


def classics(baselines: list[str]) -> pd.DataFrame:
    """The ImageNet classics; a row a zoo baseline of this study implements says so in ``source``."""
    df = reference_csv(CLASSICS_FILE)
    here = _documented_names(baselines)
    return pd.DataFrame(
        {
            "name": df["name"].astype(str),
            "params": df["params"].astype("Int64"),
            "accuracy": None,
            "figure": [_imagenet_figure(r) for r in df.itertuples()],
            "source": [
                f"{r.source} ({r.year})" + (f"; zoo baseline here: {here[str(r.name)]}" if r.name in here else "")
                for r in df.itertuples()
            ],
        }
    )


def for_study(dataset: str, baselines: list[str]) -> Documented:
    title, rows = dataset_rows(dataset)
    return Documented(title, rows, classics(baselines))


def _imagenet_figure(r) -> str:
    parts = [
        f"top-1 error {r.imagenet_top1_error_pct:g}%" if pd.notna(r.imagenet_top1_error_pct) else "",
        f"top-5 error {r.imagenet_top5_error_pct:g}%" if pd.notna(r.imagenet_top5_error_pct) else "",
    ]
    text = ", ".join(p for p in parts if p)
    return f"ImageNet {text}" if text else "no ImageNet error published"


def _documented_names(baselines: list[str]) -> dict[str, str]:
    """Documented name -> zoo baseline name, for the baselines the zoo knows."""
    from nasbench.errors import NasbenchError
    from nasbench.zoo.registry import model_info

    out = {}
    for name in baselines:
        try:
            doc = model_info(name).documented_name
        except NasbenchError:
            continue
        if doc:
            out[doc] = name
    return out
