"""The replay report: data (CSV + JSON), Markdown with PNG plots, and one self-contained HTML file."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from nasbench.bench import analysis  # noqa: E402
from nasbench.bench.replay import Budget, ReplayRun  # noqa: E402
from nasbench.bench.table import Benchmark  # noqa: E402


@dataclass(frozen=True)
class ReplaySettings:
    samplers: tuple[str, ...]
    seeds: int
    budget: Budget
    epochs: int | None
    dedup: bool
    options: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ReplayTables:
    trials: pd.DataFrame
    vs_trials: pd.DataFrame
    vs_time: pd.DataFrame
    final: pd.DataFrame
    ranking: pd.DataFrame
    leaderboard: pd.DataFrame


def summarise(runs: Sequence[ReplayRun], budget: Budget) -> ReplayTables:
    final = analysis.final_frame(runs)
    ranks = analysis.ranking(final)
    return ReplayTables(analysis.trials_frame(runs), analysis.curve_vs_trials(runs),
                        analysis.curve_vs_time(runs, budget.seconds), final, ranks, analysis.leaderboard(ranks))


def bench_facts(bench: Benchmark, epochs: int | None) -> dict[str, Any]:
    """What the report says about one benchmark at the replayed budget."""
    col = bench.column(epochs)
    val, test = bench.val_acc[:, col], bench.test_acc[:, col]
    by_val = int(pd.Series(val).idxmax())
    return {"name": bench.name, "entries": len(bench), "exhaustive": bench.exhaustive,
            "epochs": bench.budgets[col], "best_test_acc": float(pd.Series(test).max()),
            "test_acc_of_best_val": float(test[by_val]), "best_val_architecture": bench.archs[by_val].summary(),
            "mean_train_time_s": float(pd.Series(bench.train_time_s[:, col]).mean())}


def write_replay_report(runs: Sequence[ReplayRun], benches: Sequence[Benchmark], settings: ReplaySettings,
                        out: Path) -> list[Path]:
    """Write data files, plots, ``replay.md`` and ``replay.html`` into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    tables = summarise(runs, settings.budget)
    facts = [bench_facts(b, settings.epochs) for b in benches]
    paths = _write_data(tables, facts, settings, out)
    plots = {f["name"]: _plots(tables, f["name"], out) for f in facts}
    paths += [p for pair in plots.values() for p, _ in pair]
    md = out / "replay.md"
    md.write_text(_markdown(tables, facts, settings, plots))
    page = out / "replay.html"
    page.write_text(_html(tables, facts, settings, plots))
    return paths + [md, page]


def _write_data(tables: ReplayTables, facts: list[dict[str, Any]], settings: ReplaySettings, out: Path) -> list[Path]:
    files = {"replay_trials.csv": tables.trials, "regret_vs_trials.csv": tables.vs_trials,
             "regret_vs_time.csv": tables.vs_time, "final_regret.csv": tables.final,
             "ranking.csv": tables.ranking, "leaderboard.csv": tables.leaderboard}
    paths = []
    for name, df in files.items():
        df.to_csv(out / name, index=False)
        paths.append(out / name)
    summary = {"settings": _settings_dict(settings), "benchmarks": facts,
               "ranking": _records(tables.ranking), "leaderboard": _records(tables.leaderboard)}
    (out / "replay.json").write_text(json.dumps(summary, indent=2) + "\n")
    return paths + [out / "replay.json"]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN as null)."""
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for row in df.to_dict(orient="records")]


def _settings_dict(s: ReplaySettings) -> dict[str, Any]:
    return {"samplers": list(s.samplers), "seeds": s.seeds, "budget": s.budget.describe(),
            "budget_trials": s.budget.trials, "budget_seconds": s.budget.seconds, "epochs": s.epochs,
            "dedup": s.dedup, "options": s.options}


# --- plots ------------------------------------------------------------------------------------
def _plots(tables: ReplayTables, bench: str, out: Path) -> list[tuple[Path, bytes]]:
    folder = out / "plots"
    folder.mkdir(exist_ok=True)
    made = []
    for df, x, label, suffix in ((tables.vs_trials, "trial", "trials", "trials"),
                                 (tables.vs_time, "time_s", "simulated time (s)", "time")):
        png = _curve_png(df[df["benchmark"] == bench], x, label, f"{bench}: regret vs {label}")
        path = folder / f"{_safe(bench)}_regret_vs_{suffix}.png"
        path.write_bytes(png)
        made.append((path, png))
    return made


def _curve_png(df: pd.DataFrame, x: str, xlabel: str, title: str) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for sampler, g in df.groupby("sampler", sort=False):
        ax.plot(g[x], g["regret_mean"], label=sampler, linewidth=1.6)
        ax.fill_between(g[x], g["regret_lo"], g["regret_hi"], alpha=0.18)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("regret (best test acc. in table - found)")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title="sampler (mean, 95% CI)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# --- text -------------------------------------------------------------------------------------
METHOD = [
    "Each sampler searches the table instead of training: an asked architecture is answered with its "
    "stored validation accuracy and the simulated clock advances by its stored training time.",
    "The search reports its best-by-validation architecture; its regret is the table's best test "
    "accuracy minus that architecture's test accuracy (test accuracy is never used to select).",
    "Curves: mean over seeds with a Student-t 95% confidence interval. 'repeats': asks of an "
    "architecture the run had already evaluated.",
    "Ranking: by mean final regret, ties by mean anytime regret (mean of the regret-vs-trials curve); "
    "p: two-sided Mann-Whitney U of final regrets against the top-ranked sampler, Holm-corrected; "
    "'worse' marks p_holm < 0.05.",
]


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _ranking_rows(ranks: pd.DataFrame, bench: str) -> tuple[list[str], list[list[str]]]:
    head = ["rank", "sampler", "final regret (95% CI)", "anytime regret", "final test acc", "trials",
            "repeats", "sim. time (s)", "p vs best (Holm)", "worse"]
    rows = [[str(r.rank), r.sampler,
             f"{_fmt(r.final_regret_mean)} [{_fmt(r.final_regret_lo)}, {_fmt(r.final_regret_hi)}]",
             _fmt(r.anytime_regret_mean), _fmt(r.final_test_acc_mean), f"{r.trials_mean:.1f}", f"{r.repeats_mean:.1f}",
             f"{r.time_s_mean:.0f}",
             f"{_fmt(r.p_vs_best, 3)} ({_fmt(r.p_holm, 3)})", "yes" if r.worse_than_best else "no"]
            for r in ranks[ranks["benchmark"] == bench].itertuples()]
    return head, rows


def _leader_rows(board: pd.DataFrame, names: list[str]) -> tuple[list[str], list[list[str]]]:
    head = ["sampler", "mean rank"] + [f"{n}: rank / regret" for n in names]
    rows = [[r["sampler"], f"{r['mean_rank']:.2f}"] +
            [f"{int(r[f'rank:{n}'])} / {_fmt(r[f'regret:{n}'])}" for n in names] for _, r in board.iterrows()]
    return head, rows


def _bench_line(f: dict[str, Any]) -> str:
    return (f"{f['entries']} architectures ({'the whole space' if f['exhaustive'] else 'a sample of the space'}), "
            f"replayed at {f['epochs']} epochs; best test accuracy {f['best_test_acc']:.4f}; the best-by-validation "
            f"architecture ({f['best_val_architecture']}) has test accuracy {f['test_acc_of_best_val']:.4f}; "
            f"mean training time {f['mean_train_time_s']:.1f} s.")


def _intro(settings: ReplaySettings) -> str:
    return (f"Samplers {', '.join(settings.samplers)}; {settings.seeds} seeds each; budget "
            f"{settings.budget.describe()}; repeated architectures "
            f"{'answered from memory (free)' if settings.dedup else 'charged again'}.")


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    def cell(s: str) -> str:
        return s.replace("|", "\\|")

    return (["| " + " | ".join(map(cell, head)) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(map(cell, r)) + " |" for r in rows])


def _markdown(tables: ReplayTables, facts: list[dict[str, Any]], settings: ReplaySettings,
              plots: dict[str, list[tuple[Path, bytes]]]) -> str:
    names = [f["name"] for f in facts]
    lines = ["# Sampler replay on tabular benchmarks", "",
             f"Generated {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}. {_intro(settings)}", "",
             *[f"- {m}" for m in METHOD], "", "## Leaderboard (samplers x benchmarks)", "",
             *_md_table(*_leader_rows(tables.leaderboard, names)), ""]
    for f in facts:
        lines += [f"## {f['name']}", "", _bench_line(f), "", *_md_table(*_ranking_rows(tables.ranking, f["name"])), ""]
        lines += [f"![{f['name']} {p.stem}](plots/{p.name})" for p, _ in plots[f["name"]]] + [""]
    lines += ["Data: replay_trials.csv, regret_vs_trials.csv, regret_vs_time.csv, final_regret.csv, ranking.csv, "
              "leaderboard.csv, replay.json.", ""]
    return "\n".join(lines)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
       "td:nth-child(2),th:nth-child(2){text-align:left}img{max-width:100%}")


def _html(tables: ReplayTables, facts: list[dict[str, Any]], settings: ReplaySettings,
          plots: dict[str, list[tuple[Path, bytes]]]) -> str:
    names = [f["name"] for f in facts]
    e = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sampler replay</title>",
             f"<style>{CSS}</style></head><body><h1>Sampler replay on tabular benchmarks</h1>",
             f"<p>Generated {e(dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}. {e(_intro(settings))}</p>",
             "<ul>" + "".join(f"<li>{e(m)}</li>" for m in METHOD) + "</ul>",
             "<h2>Leaderboard (samplers x benchmarks)</h2>", _html_table(*_leader_rows(tables.leaderboard, names))]
    for f in facts:
        parts += [f"<h2>{e(f['name'])}</h2><p>{e(_bench_line(f))}</p>",
                  _html_table(*_ranking_rows(tables.ranking, f["name"]))]
        parts += [f"<img alt='{e(p.stem)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                  for p, png in plots[f["name"]]]
    parts.append("</body></html>")
    return "\n".join(parts)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
