"""``nasbench zoo``: list the documented architectures and show one beside its published figures."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from nasbench.cli.console import NasbenchGroup, console

app = typer.Typer(
    cls=NasbenchGroup, help="The zoo of documented architectures (LeNet-5 ... ConvNeXt).", no_args_is_help=True
)


def _int(value: int | None) -> str:
    from nasbench.report.format import integer

    return integer(value, blank="-")


def _flops(value: int | None) -> str:
    from nasbench.report.format import integer, scaled

    return "-" if value is None else f"{integer(value)} ({scaled(value, giga_from=1e8, mega_from=0)})"


def _pct(value: float | None) -> str:
    from nasbench.report.format import percent

    return percent(value)


@app.command("list")
def list_() -> None:
    """Every zoo network: family, parameters and input at its native configuration."""
    table = Table("name", "family", "params", "native input", title="zoo")
    from nasbench.zoo.registry import list_models
    from nasbench.zoo.summary import summarize

    for name in list_models():
        s = summarize(name, measure=False)
        c, h, w = s.native_input
        table.add_row(name, s.info.family, _int(s.params), f"{h}x{w}x{c}")
    console.print(table)


@app.command()
def show(name: Annotated[str, typer.Argument(help="Zoo network name (see `zoo list`).")]) -> None:
    """Parameters, FLOPs and receptive field at the native input, beside the documented figures."""
    from nasbench.zoo.summary import summarize

    s = summarize(name)
    c, h, w = s.native_input
    doc: dict[str, Any] = s.documented or {}
    source = f"documented: {doc['name']} ({doc['source']})" if doc else "documented"
    table = Table(
        "", f"measured ({h}x{w}x{c}, {s.info.num_classes} classes)", source, title=f"{name} ({s.info.family})"
    )
    table.add_row("params", _int(s.params), _int(doc.get("params")))
    table.add_row("FLOPs", _flops(s.flops), "-")
    table.add_row("receptive field", _int(s.receptive_field), "-")
    table.add_row("ImageNet top-1 error", "-", _pct(doc.get("imagenet_top1_error_pct")))
    table.add_row("ImageNet top-5 error", "-", _pct(doc.get("imagenet_top5_error_pct")))
    console.print(table)
    console.print("FLOPs count a multiply-add as 2.", highlight=False)
    console.print(f"small-input adaptation: {s.info.small_input_adaptation}", highlight=False)
