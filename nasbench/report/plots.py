"""The report's plots (matplotlib, no GUI backend): each a ``Figure`` (PNG, title, caption) of the document.

Figures are built with ``matplotlib.figure.Figure`` directly, so no global pyplot state or
display backend is involved.
"""

from __future__ import annotations

import io
import math
from typing import cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.report import render
from nasbench.report.study import StudyData, seconds_since_start
from nasbench.space.architecture import Architecture

TOP_CURVES = 5
TOP_PARALLEL = 10
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def document_figure(
    fig: Figure, key: str, title: str, caption: str, listed: tuple[str, list[str]] = ("", [])
) -> render.Figure:
    """``fig`` as the document's figure ``key``; ``listed``, a label and names, ends the caption
    with ``label: a, b.`` when there are names."""
    label, names = listed
    if names:
        caption += f" {label}: {', '.join(names)}."
    return render.Figure(key, title, caption, png_bytes(fig))


def study_figures(data: StudyData, board: pd.DataFrame, documented_rows: pd.DataFrame) -> list[render.Figure]:
    """Every plot the study's data allows; plots with nothing to show are left out."""
    figures = [
        pareto(board, documented_rows),
        best_so_far({data.study.name: data}, "Best so far", "best_so_far"),
        dimension_effects(data),
        learning_curves(data, board),
        parallel_coordinates(board),
    ]
    return [p for p in figures if p is not None]


# --- Pareto fronts -----------------------------------------------------------------------------

PARETO_AXES = [("params", "parameters"), ("flops", "FLOPs (batch 1)"), ("latency_ms", "latency (ms)")]


def pareto_front(x: pd.Series, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Points not dominated by any other (lower x, higher y), in increasing x."""
    order = np.lexsort((-y.to_numpy(float), x.to_numpy(float)))
    xs, ys, best = [], [], -math.inf
    for i in order:
        if y.iloc[i] > best:
            best = y.iloc[i]
            xs.append(x.iloc[i])
            ys.append(y.iloc[i])
    return np.array(xs, float), np.array(ys, float)


def pareto(board: pd.DataFrame, documented_rows: pd.DataFrame) -> render.Figure | None:
    if board.empty:
        return None
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (col, label) in zip(axes, PARETO_AXES):
        _pareto_panel(ax, board, documented_rows if col == "params" else None, col, label)
    missing = [label for col, label in PARETO_AXES if board[col].isna().all()]
    caption = (
        "Validation accuracy against cost; the line joins the searched architectures no other beats "
        "on both. Baselines (zoo and hand-written) are squares; documented points (published test accuracy of "
        "the data set's benchmark table, measured elsewhere) are hollow diamonds."
    )
    title = "Pareto fronts: accuracy against parameters, FLOPs and latency"
    return document_figure(fig, "pareto", title, caption, ("Not measured in this study", missing))


def _pareto_panel(ax: Axes, board: pd.DataFrame, docs: pd.DataFrame | None, col: str, label: str) -> None:
    ax.set_xlabel(label)
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    rows = board.dropna(subset=[col, "val_acc"])
    if rows.empty:
        ax.text(0.5, 0.5, f"{label}\nnot measured", ha="center", va="center", transform=ax.transAxes)
        return
    ax.set_xscale("log")
    s = rows[rows["family"] == Family.SEARCHED]
    if len(s):
        ax.scatter(s[col], s["val_acc"], s=22, color=COLORS[0], alpha=0.7, label="searched (val)")
        fx, fy = pareto_front(s[col], s["val_acc"])
        # Carried on to the costliest searched point, so a front of one point still shows as a line.
        ax.step(
            np.append(fx, s[col].max()),
            np.append(fy, fy[-1]),
            where="post",
            color=COLORS[0],
            lw=1.2,
            label="Pareto front",
        )
    b = rows[rows["family"] != Family.SEARCHED]
    if len(b):
        ax.scatter(b[col], b["val_acc"], s=48, marker="s", color=COLORS[3], label="baseline (val)")
        for r in b.itertuples():
            ax.annotate(
                str(r.name), (getattr(r, col), r.val_acc), fontsize=7, xytext=(4, 3), textcoords="offset points"
            )
    if docs is not None and len(d := docs.dropna(subset=["params", "accuracy"])):
        ax.scatter(
            d["params"].astype(float),
            d["accuracy"],
            s=44,
            marker="D",
            facecolors="none",
            edgecolors="black",
            label="documented (published test)",
        )
        for r in d.itertuples():
            ax.annotate(
                str(r.name),
                (float(cast(int, r.params)), r.accuracy),
                fontsize=6,
                color="#444",
                xytext=(4, -8),
                textcoords="offset points",
            )
    ax.legend(fontsize=7, loc="best")


# --- best so far -------------------------------------------------------------------------------


def best_so_far(studies: dict[str, StudyData], title: str, key: str) -> render.Figure | None:
    """Best validation accuracy against trials started and against wall time, one line per study."""
    fig = Figure(figsize=(12, 4), layout="constrained")
    ax_n, ax_t = fig.subplots(1, 2)
    drawn = False
    for i, (name, data) in enumerate(studies.items()):
        trials = data.trials[(data.trials["stage"] == Stage.SEARCH) & (data.trials["family"] == Family.SEARCHED)]
        done = trials[trials["state"] == TrialState.COMPLETE].sort_values("number")
        if done.empty:
            continue
        drawn = True
        color = COLORS[i % len(COLORS)]
        ax_n.step(done["number"], done["val_acc"].cummax(), where="post", color=color, label=name)
        ax_n.scatter(done["number"], done["val_acc"], s=12, color=color, alpha=0.5)
        by_time = done.assign(t=seconds_since_start(trials).loc[done.index]).sort_values("t")
        ax_t.step(by_time["t"], by_time["val_acc"].cummax(), where="post", color=color, label=name)
        ax_t.scatter(by_time["t"], by_time["val_acc"], s=12, color=color, alpha=0.5)
    if not drawn:
        return None
    ax_n.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax, xlabel in ((ax_n, "trial number"), (ax_t, "wall time since the first trial started (s)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("best validation accuracy so far")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    caption = (
        "Best validation accuracy among completed searched trials, by trial number and by wall time "
        "(dots: each trial's own validation accuracy)."
    )
    return document_figure(fig, key, title, caption)


# --- effect of each search dimension -----------------------------------------------------------


def arch_dimensions(arch: Architecture, resolution: int | None, native: int | None) -> dict[str, list]:
    """The searched dimensions of one architecture; per-stage choices are lists of the values used."""
    return {
        "block type": sorted({s.block for s in arch.stages}),
        "kernel": sorted({s.kernel for s in arch.stages}),
        "dilation": sorted({s.dilation for s in arch.stages}),
        "depth (blocks)": [sum(s.depth for s in arch.stages)],
        "width (widest stage)": [max(s.width for s in arch.stages)],
        "stages": [len(arch.stages)],
        "resolution": [resolution or arch.resolution or native],
    }


def dimension_table(data: StudyData) -> pd.DataFrame:
    """Long table (dimension, value, val_acc): one row per completed searched trial and value it uses."""
    res = data.study.config.fidelity.resolution
    native = data.study.dataset.input_size[0] if data.study.dataset.input_size else None
    rows = []
    for r in data.searched.dropna(subset=["arch", "val_acc"]).itertuples():
        for dim, values in arch_dimensions(cast(Architecture, r.arch), res, native).items():
            rows += [{"dimension": dim, "value": v, "val_acc": r.val_acc} for v in values]
    return pd.DataFrame(rows, columns=["dimension", "value", "val_acc"])


def dimension_effects(data: StudyData) -> render.Figure | None:
    table = dimension_table(data)
    if table.empty:
        return None
    varied = [d for d, g in table.groupby("dimension", sort=False) if g["value"].nunique() > 1]
    constant = [
        f"{d} {g['value'].iloc[0]}" for d, g in table.groupby("dimension", sort=False) if g["value"].nunique() == 1
    ]
    if not varied:
        return None
    cols = min(3, len(varied))
    rows = math.ceil(len(varied) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    rng = np.random.default_rng(0)
    for ax, dim in zip(axes, varied):
        _strip(ax, table[table["dimension"] == dim], str(dim), rng)
    for ax in axes[len(varied) :]:
        ax.set_visible(False)
    caption = (
        "Validation accuracy of completed searched trials by the value of each search dimension "
        "(dots: trials; bars: means; n: trials). For block type, kernel and dilation a trial counts "
        "under every value one of its stages uses."
    )
    title = "Effect of each search dimension on validation accuracy"
    return document_figure(fig, "dimensions", title, caption, ("Constant in this study", constant))


def _strip(ax: Axes, g: pd.DataFrame, dim: str, rng: np.random.Generator) -> None:
    values = sorted(g["value"].unique(), key=lambda v: (isinstance(v, str), v))
    for i, v in enumerate(values):
        acc = g[g["value"] == v]["val_acc"].to_numpy(float)
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(acc)), acc, s=14, alpha=0.6, color=COLORS[0])
        ax.hlines(acc.mean(), i - 0.3, i + 0.3, color="black", lw=2)
        ax.annotate(
            f"n={len(acc)}",
            (i, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3),
            textcoords="offset points",
            fontsize=7,
            ha="center",
        )
    ax.set_xticks(range(len(values)), [str(v) for v in values])
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_xlabel(dim)
    ax.set_ylabel("val accuracy")
    ax.grid(alpha=0.3, axis="y")


# --- learning curves ---------------------------------------------------------------------------


def learning_curves(data: StudyData, board: pd.DataFrame) -> render.Figure | None:
    top = board[board["family"] == Family.SEARCHED].head(TOP_CURVES)
    ep = data.epochs
    if top.empty or ep.empty:
        return None
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    finals_drawn = False
    for i, r in enumerate(top.itertuples()):
        color = COLORS[i % len(COLORS)]
        for stage, style in (("search", "-"), ("final", "--")):
            curve = ep[(ep["number"] == r.number) & (ep["stage"] == stage)].sort_values("epoch")
            if curve["val_acc"].notna().any():  # none when the re-training trained on the validation split
                finals_drawn |= stage == Stage.FINAL
                ax.plot(
                    curve["epoch"],
                    curve["val_acc"],
                    style,
                    marker="o",
                    ms=3,
                    color=color,
                    label=f"#{r.rank} trial {r.number}" + (" (final)" if stage == Stage.FINAL else ""),
                )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    finals = "dashed: final re-training" if finals_drawn else "the final re-trainings measure no validation figure"
    caption = f"Validation accuracy per epoch of the top {len(top)} searched architectures (solid: search fidelity; "
    caption += f"{finals})."
    return document_figure(fig, "learning_curves", "Learning curves of the top architectures", caption)


# --- parallel coordinates ----------------------------------------------------------------------

PARALLEL_AXES = [
    "stages",
    "depth (blocks)",
    "width (widest stage)",
    "kernel (mean)",
    "dilation (max)",
    "log10 params",
    "log10 FLOPs",
    "val acc",
]


def parallel_table(board: pd.DataFrame) -> pd.DataFrame:
    top = board[(board["family"] == Family.SEARCHED) & board["arch"].notna()].head(TOP_PARALLEL)
    rows = []
    for r in top.itertuples():
        arch = cast(Architecture, r.arch)
        rows.append(
            [
                len(arch.stages),
                sum(s.depth for s in arch.stages),
                max(s.width for s in arch.stages),
                float(np.mean([s.kernel for s in arch.stages])),
                max(s.dilation for s in arch.stages),
                math.log10(cast(float, r.params)) if r.params else np.nan,
                math.log10(cast(float, r.flops)) if r.flops else np.nan,
                r.val_acc,
            ]
        )
    return pd.DataFrame(rows, columns=PARALLEL_AXES, index=[f"#{r.rank}" for r in top.itertuples()])


def parallel_coordinates(board: pd.DataFrame) -> render.Figure | None:
    table = parallel_table(board)
    if len(table) < 2:
        return None
    lo, hi = table.min(), table.max()
    scaled = ((table - lo) / (hi - lo).replace(0, np.nan)).fillna(0.5)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(PARALLEL_AXES))
    for i, (label, row) in enumerate(scaled.iterrows()):
        ax.plot(
            x,
            row.to_numpy(float),
            marker="o",
            ms=3,
            color=COLORS[i % len(COLORS)],
            alpha=0.9 if i < 3 else 0.5,
            lw=2.2 if i == 0 else 1.2,
            label=label,
        )
    for i, col in enumerate(PARALLEL_AXES):
        ax.axvline(i, color="#999", lw=0.8)
        ax.annotate(f"{hi[col]:.3g}", (i, 1.0), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=7)
        ax.annotate(f"{lo[col]:.3g}", (i, 0.0), xytext=(0, -12), textcoords="offset points", ha="center", fontsize=7)
    ax.set_xticks(x, PARALLEL_AXES, fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.12, 1.12)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), title="rank")
    caption = (
        f"The top {len(table)} searched architectures by validation accuracy, one line each, on axes "
        "scaled from their minimum (bottom) to maximum (top) among them."
    )
    return document_figure(fig, "parallel", "Top architectures in parallel coordinates", caption)
