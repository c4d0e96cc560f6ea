"""The ``nasbench`` command line. Commands parse, call library code, print."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nasbench.cli.baseline import baseline, replicate
from nasbench.cli.bench import app as bench_app
from nasbench.cli.bench import proxies
from nasbench.cli.console import BaselinesOption, DbOption, NasbenchGroup, console, fail
from nasbench.cli.dashboard import dashboard
from nasbench.cli.report import report as report_cmd
from nasbench.cli.space import app as space_app
from nasbench.cli.zoo import app as zoo_app

app = typer.Typer(
    cls=NasbenchGroup,
    help="Neural architecture search and benchmarking for convolutional networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class LoggerChoice(StrEnum):
    tensorboard = "tensorboard"
    csv = "csv"
    mlflow = "mlflow"
    none = "none"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.command()
def search(
    study_file: Annotated[Path, typer.Argument(help="Study file (YAML).")],
    db: DbOption = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Join an existing Ray cluster (e.g. 127.0.0.1:6379).")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the study and refuse to start a new one (re-running without it continues too)."
        ),
    ] = False,
    logger: Annotated[
        LoggerChoice | None,
        typer.Option(
            "--logger",
            help="Log each trial's curves to this logger (overrides the study's logging.logger; none: no logger).",
        ),
    ] = None,
    baselines: BaselinesOption = True,
) -> None:
    """Run (or resume) the search a study file describes."""
    from nasbench.search.runner import run_search
    from nasbench.store import open_ledger

    out = run_search(
        str(study_file),
        open_ledger(db),
        ray_address=ray_address,
        console=console,
        shutdown_ray=True,
        resume=resume,
        logger=str(logger) if logger is not None else None,
        baselines=baselines,
    )
    best = f"{out.best_val_acc:.4f}" if out.best_val_acc is not None else "-"
    counts = ", ".join(f"{v} {k}" for k, v in sorted(out.counts.items())) or "no trials"
    console.print(f"study {out.study}: {counts}; best val_acc {best}; wall time {out.wall_s:.1f}s")
    if out.exit_code:
        raise typer.Exit(out.exit_code)


@app.command()
def status(study: Annotated[str, typer.Argument(help="Study name.")], db: DbOption = None) -> None:
    """Progress, trial states, and failures with their reasons."""
    from nasbench.report.status import study_status

    st = study_status(db, study)
    console.print(f"study [bold]{study}[/bold]: {st['status']}, {st['elapsed_s']:.0f}s spent, budget {st['budget']}")
    if st["driver"]:
        console.print(st["driver"], highlight=False)
    table = Table("stage", "state", "trials")
    for (stage, state), n in sorted(st["counts"].items()):
        table.add_row(stage, state, str(n))
    console.print(table)
    if st["best"]:
        best = st["best"]
        score = "shared-weight score" if best["evaluator"] == "supernet" else "val_acc"
        console.print(f"best: trial {best['number']} {score} {best['val_acc']:.4f}  {best['name']}")
    if st["infeasible"]:
        it = Table("candidates", "reason (first example)", title="infeasible: rejected before training")
        for k in st["infeasible"]:
            it.add_row(str(k.count), f"trial {k.example_number}: {k.example_reason}")
        console.print(it)
    if st["failures"]:
        ft = Table("trial", "state", "reason", title="failed / interrupted")
        for f in st["failures"]:
            ft.add_row(str(f["number"]), f["state"], f["reason"] or "")
        console.print(ft)


@app.command()
def query(
    study: Annotated[str | None, typer.Option("--study", help="Only this study.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only trials in this state (complete, failed, ...).")
    ] = None,
    where: Annotated[
        str | None, typer.Option("--where", help='pandas query, e.g. "params<1e5 and val_acc>0.9".')
    ] = None,
    family: Annotated[str | None, typer.Option("--family", help="searched or baseline.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="search or final.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="Column to sort by (descending).")] = "val_acc",
    ascending: Annotated[bool, typer.Option("--ascending", help="Sort ascending.")] = False,
    top: Annotated[int | None, typer.Option("--top", help="Keep the first N rows.")] = None,
    columns: Annotated[str | None, typer.Option("--columns", help="Comma-separated columns to show.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file (required for parquet).")] = None,
    db: DbOption = None,
) -> None:
    """Query trials from the results database."""
    from nasbench.report.query import select_rows

    cols, rows = select_rows(
        db,
        study=study,
        state=state,
        where=where,
        family=family,
        stage=stage,
        sort=sort,
        ascending=ascending,
        top=top,
        columns=columns.split(",") if columns else None,
    )
    if fmt == Format.parquet and out is None:
        fail("--format parquet needs --out FILE.")
    if fmt == Format.table:
        shown = [[_cell(r[c]) for c in cols] for r in rows]
        if out is None and console.is_terminal:
            table = Table(*cols)
            for line in shown:
                table.add_row(*line)
            console.print(table)
            return
        text = _plain_table(cols, shown)
    else:  # pandas writes CSV, JSON and parquet
        from nasbench.store.rows import trials_frame

        df = trials_frame(rows, cols)
        if fmt == Format.parquet:
            df.to_parquet(out, index=False)
            console.print(f"wrote {len(df)} rows to {out}")
            return
        if fmt == Format.csv:
            text = df.to_csv(index=False)
        else:
            text = df.to_json(orient="records", indent=2, date_format="iso", double_precision=15)
    if out is not None:
        out.write_text(text)
        console.print(f"wrote {len(rows)} rows to {out}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _cell(v) -> str:
    from nasbench.report.format import cell

    return cell(v)


def _plain_table(columns: list[str], rows: list[list[str]]) -> str:
    """Columns right-aligned under their names, for a file or a pipe (as pandas' ``to_string``)."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = [columns, *rows]
    return "\n".join(" ".join(v.rjust(w) for v, w in zip(line, widths)) for line in lines) + "\n"


class ExportFormat(StrEnum):
    torchscript = "torchscript"
    onnx = "onnx"


@app.command()
def export(
    study: Annotated[str, typer.Argument(help="Study name.")],
    trial: Annotated[int | None, typer.Option("--trial", help="Trial number to export.")] = None,
    best: Annotated[
        bool, typer.Option("--best", help="Export the best trial by validation accuracy (the default).")
    ] = False,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Model file format.")] = ExportFormat.torchscript,
    out: Annotated[Path, typer.Option("--out", help="Folder for the exported files.")] = Path("exports"),
    db: DbOption = None,
) -> None:
    """Re-train a stored architecture, export it (TorchScript or ONNX) and check the export's test accuracy."""
    from nasbench.store import open_ledger
    from nasbench.store.exports import export_job
    from nasbench.train.export import check_export, export_model

    job = export_job(open_ledger(db, create=False), study, trial=trial, best=best, fmt=fmt.value, out_dir=out)
    task = check_export(job)
    console.print("re-training the architecture as its trial did (CPU) ...", highlight=False)
    r = export_model(job, task)
    table = Table("test accuracy", "value", title=f"study {study}, trial {r.trial}, {r.format}")
    table.add_row("exported file (run back)", _pct(r.exported_test_acc))
    table.add_row("re-trained model in memory", _pct(r.retrained_test_acc))
    table.add_row("stored (final training)", _pct(r.stored_test_acc))
    console.print(table)
    for path in (r.model_path, r.architecture_path, r.metadata_path):
        console.print(f"wrote {path}", highlight=False)
    for note in r.notes:
        console.print(f"note: {note}", highlight=False)
    if not r.export_matches:
        fail(f"the exported file disagrees with the re-trained model on {r.prediction_mismatches} test samples.")
    if not r.preprocessing_matches:
        fail(
            f"the preprocessing recorded in {r.metadata_path} differs from the one applied by up to "
            f"{r.preprocessing_max_abs_diff:.3g}; the metadata would mislead a user of the model."
        )
    if r.reproduces_stored is False:
        fail(
            f"the re-trained model's test accuracy {_pct(r.retrained_test_acc)} differs from the stored "
            f"{_pct(r.stored_test_acc)}; the files were written, but they do not reproduce the reported score."
        )


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


@app.command()
def doctor(db: DbOption = None) -> None:
    """Versions, CPUs/GPUs Ray sees, data sets found, and the database in use."""
    from nasbench.cli.doctor import diagnose

    info = diagnose(db)
    table = Table("check", "value", show_header=False)
    for key, value in info.items():
        table.add_row(key, value if isinstance(value, str) else json.dumps(value))
    console.print(table)


# Each part owns its commands; the top-level app mounts them.
app.command("report")(report_cmd)
app.command()(baseline)
app.command()(replicate)
app.command()(dashboard)
app.command("proxies")(proxies)
app.add_typer(bench_app, name="bench")
app.add_typer(zoo_app, name="zoo")
app.add_typer(space_app, name="space")


def main() -> None:
    app()
