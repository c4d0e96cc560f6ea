"""The Markdown report of a study (plots linked as PNG files written beside it)."""

from __future__ import annotations

import pandas as pd

from nasbench.report.documented import Documented
from nasbench.report.format import (
    fmt_acc,
    fmt_float,
    fmt_int,
    fmt_seconds,
    md_code,
    md_text,
    training_cost,
)
from nasbench.report.plots import Plot
from nasbench.report.study import (
    StudyData,
    protocol,
    provenance_lines,
    state_counts,
    utc_now,
)
from nasbench.report.targets import check_targets, describe


def render_study(data: StudyData, board: pd.DataFrame, docs: Documented, figures: list[tuple[Plot, str]],
                 summary: list[str]) -> str:
    """``figures``: each plot with the relative path of its PNG file."""
    lines = [f"# Leaderboard: {md_text(data.name)}", "", f"Generated {utc_now()} from the results database.", ""]
    lines += [" ".join(md_text(s) for s in summary), ""]
    checks = check_targets(data)
    if checks:
        lines += ["## Targets", "", "Checked on final test accuracy; each network is chosen by validation accuracy.", ""]
        lines += [f"- {md_text(describe(c))}" for c in checks] + [""]
    lines += ["## Leaderboard (measured here)", "",
              "Ranked by **validation** accuracy; test accuracy is measured only for final evaluations "
              "(the re-training of the top architectures, and zoo baselines).", ""]
    lines += board_lines(board)
    lines += ["", "## Documented figures (published, not measured here)", ""] + documented_lines(docs)
    for fig, link in figures:
        lines += ["", f"## {md_text(fig.title)}", "", md_text(fig.caption), "", f"![{md_text(fig.title)}]({link})"]
    lines += ["", "## Protocol", ""] + [f"- **{k}**: {md_text(v)}" for k, v in protocol(data)]
    lines += ["", "## Provenance", ""] + ([f"- **{k}**: {md_text(v)}" for k, v in provenance_lines(data)]
                                        or ["No trial recorded its provenance."])
    lines += ["", "## Trials and failures", ""] + failure_lines(data)
    return "\n".join(lines) + "\n"


def board_lines(board: pd.DataFrame) -> list[str]:
    if board.empty:
        return ["No trial completed, so there is nothing to rank (see the failures below)."]
    lines = ["| rank | name | family | params | FLOPs | latency (ms) | val acc | final val acc | test acc "
             "| training cost |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for _, r in board.iterrows():
        name = md_code(r["name"]) if r["family"] == "searched" else md_text(r["name"])
        lines.append(f"| {r['rank']} | {name} | {r['family']} | {fmt_int(r['params'])} | "
                     f"{fmt_int(r['flops'])} | {fmt_float(r['latency_ms'], 3)} | {fmt_acc(r['val_acc'])} | "
                     f"{fmt_acc(r['final_val_acc'])} | {fmt_acc(r['test_acc'])} | {training_cost(r)} |")
    return lines


def documented_lines(docs: Documented) -> list[str]:
    lines = []
    for title, rows in docs.tables():
        lines += [f"**{md_text(title)}**", "", "| name | family | params | published figure | source |",
                  "|---|---|---:|---|---|"]
        lines += [f"| {md_text(r.name)} | documented | {fmt_int(r.params)} | {md_text(r.figure)} | "
                  f"{md_text(r.source)} |" for r in rows.itertuples()]
        lines.append("")
    return lines


def failure_lines(data: StudyData) -> list[str]:
    counts = state_counts(data)
    lines = ["Trials: " + ("; ".join(f"{stage} {state}: {n}" for (stage, state), n in sorted(counts.items()))
                          or "none") + ".", ""]
    kinds = data.infeasible
    if kinds:
        lines += [f"Rejected before training as infeasible (not trained, not counted against a trial budget): "
                  f"{sum(k.count for k in kinds)}.", "",
                  "| candidates | reason (first example) |", "|---:|---|"]
        lines += [f"| {k.count} | trial {k.example_number}: {md_text(k.example_reason)} |" for k in kinds]
        lines.append("")
    bad = data.failures
    if bad.empty:
        return lines + ["No trial failed."]
    lines += ["| trial | stage | state | reason |", "|---:|---|---|---|"]
    lines += [f"| {r.number} | {r.stage} | {r.state} | {md_text(r.failure_reason)} |" for r in bad.itertuples()]
    return lines


def render_comparison(datas: dict[str, StudyData], table: pd.DataFrame, figures: list[tuple[Plot, str]]) -> str:
    ds = next(iter(datas.values())).dataset
    lines = [f"# Comparison: {md_text(', '.join(datas))}", "", f"Generated {utc_now()} from the results database. "
             f"All studies use data set {md_text(ds['name'])}; best = highest validation accuracy among "
             "searched architectures, test accuracy from its final re-training when there was one.", "",
             "| study | sampler | trials | complete | failed | wall time | best val acc | its test acc | its params "
             "| best architecture | search fidelity | split train/val/test |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {md_text(r['study'])} | {md_text(r['sampler'])} | {r['trials']} | {r['complete']} | "
                     f"{r['failed']} | {fmt_seconds(r['wall_time_s'])} | {fmt_acc(r['best_val_acc'])} | "
                     f"{fmt_acc(r['best_test_acc'])} | {fmt_int(r['best_params'])} | "
                     f"{md_code(r['best_name']) if r['best_name'] else ''} | {md_text(r['search_fidelity'])} | "
                     f"{r['split']} |")
    for fig, link in figures:
        lines += ["", f"## {md_text(fig.title)}", "", md_text(fig.caption), "", f"![{md_text(fig.title)}]({link})"]
    return "\n".join(lines) + "\n"
