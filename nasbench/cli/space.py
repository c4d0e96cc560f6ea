"""``nasbench space``: show a search space, or sample architectures from it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from nasbench.cli.console import NasbenchGroup, console

if TYPE_CHECKING:
    from nasbench.measure.preview import Preview
    from nasbench.space.spec import SpaceSpec, StageChoices

# The space file's loader (pydantic), Optuna and the previews (torch) are imported by the commands
# that use them: `--help` and the other commands start without them.

app = typer.Typer(
    cls=NasbenchGroup, help="Search spaces: show one, or sample architectures from it.", no_args_is_help=True
)

FileArg = Annotated[Path, typer.Argument(help="Search space file (YAML).")]
InputOption = Annotated[
    str | None,
    typer.Option(
        "--input",
        help="One sample's shape, channels first: 1x40, 1x28x28 or 1x16x16x16 "
        "(default: 1x28x28, or 1x40 / 1x16x16x16 for a 1D / 3D-only space).",
    ),
]
ClassesOption = Annotated[int, typer.Option("--classes", min=1, help="Classes of the classifier head.")]


def _values(values: list[Any]) -> str:
    return ", ".join("native" if v is None else f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _default_input(spec: SpaceSpec) -> tuple[int, ...]:
    return (1, 28, 28) if 2 in spec.ndim else (1, 40) if 1 in spec.ndim else (1, 16, 16, 16)


def _load(file: Path, input_text: str | None) -> tuple[SpaceSpec, tuple[int, ...]]:
    import optuna

    from nasbench.measure.preview import parse_input
    from nasbench.space.spec import load_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line per command
    spec = load_space(file)
    return spec, parse_input(input_text) if input_text else _default_input(spec)


def _global_table(spec: SpaceSpec) -> Table:
    table = Table("choice", "values", title=f"space {spec.name}", title_justify="left")
    for name, values in (
        ("ndim", spec.ndim),
        ("resolution", spec.resolution),
        ("width_mult", spec.width_mult),
        ("num_stages", spec.num_stages),
        ("stem.width", spec.stem.width),
        ("stem.kernel", spec.stem.kernel),
        ("stem.stride", spec.stem.stride),
        ("activation", spec.activation),
        ("norm", spec.norm),
        ("head.width", spec.head.width),
        ("head.dropout", spec.head.dropout),
    ):
        table.add_row(name, _values(values))
    for f in spec.shared:
        table.add_row(f"stage.{f} (shared by all stages)", _values(getattr(spec.stage, f)))
    return table


def _stage_table(spec: SpaceSpec) -> Table:
    from nasbench.space.spec import STAGE_FIELDS

    fields = [f for f in STAGE_FIELDS if f not in spec.shared]
    table = Table("stage", *fields, title="per stage (-: no block type of the stage uses it)", title_justify="left")
    for i in range(max(spec.num_stages)):
        c = spec.stage_choices(i)
        table.add_row(f"s{i}", *(_values(getattr(c, f)) if _used(c, f) else "-" for f in fields))
    return table


def _used(c: StageChoices, field: str) -> bool:
    """Whether some block type of the stage uses ``field`` (expansion only matters to inverted)."""
    from nasbench.space.architecture import applies
    from nasbench.space.spec import STAGE_ATTRS

    assert c.block is not None  # stage_choices() merges every stage with the default, which lists blocks
    return any(applies(b, STAGE_ATTRS.get(field, field)) for b in c.block)


def _figure(value: int | None) -> str:
    from nasbench.report.format import scaled

    return scaled(value)


@app.command()
def show(
    file: FileArg,
    input_text: InputOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the example's sampler.")] = 0,
    classes: ClassesOption = 10,
) -> None:
    """Dimensions and choices of a space, its cardinality, and an example architecture."""
    spec, shape = _load(file, input_text)
    from nasbench.measure.preview import example

    found = example(spec, shape, seed=seed, num_classes=classes)
    if spec.description:
        console.print(spec.description, highlight=False)
    console.print(_global_table(spec))
    console.print(_stage_table(spec))
    n = spec.cardinality()
    about = f" (about {n:.1e})".replace("e+0", "e").replace("e+", "e") if n >= 1e6 else ""
    console.print(f"cardinality: {n:,} architectures{about}", highlight=False)
    _supernet_lines(spec, shape, classes)
    where = "x".join(map(str, shape))
    if found.infeasible:
        console.print(
            f"no feasible example for input {where}; the last sample: {found.arch.summary()}: {found.infeasible}",
            highlight=False,
        )
        return
    console.print(f"example for input {where}: {found.arch.summary()}", highlight=False)
    console.print(
        f"  params {found.params:,}, FLOPs {found.flops:,} ({_figure(found.flops)}), digest {found.arch.digest()[:12]}",
        highlight=False,
    )


def _supernet_lines(spec: SpaceSpec, shape: tuple[int, ...], classes: int) -> None:
    """What a supernet of the space (study field ``evaluator: {name: supernet}``) shares, or why it cannot."""
    import math

    from nasbench.nn.supernet import SHARED_DIMENSIONS, SUPERNET_UNSHARED, supernet_refusal, supernet_shapes

    refusal = supernet_refusal(spec)
    if refusal is not None:
        console.print(f"supernet: cannot cover this space: {refusal}", highlight=False)
        return
    shapes = supernet_shapes(spec, shape[0], classes, len(shape) - 1)
    weights = sum(math.prod(s.shape) for s in shapes.values())
    console.print(
        f"supernet: {weights:,} shared weights in {len(shapes)} tensors for input {'x'.join(map(str, shape))}; "
        f"shares {', '.join(SHARED_DIMENSIONS)}; not shared: {SUPERNET_UNSHARED}",
        highlight=False,
    )


@app.command()
def sample(
    file: FileArg,
    n: Annotated[int, typer.Option("-n", "--num", min=1, help="How many architectures.")] = 5,
    input_text: InputOption = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampler seed (default: random).")] = None,
    classes: ClassesOption = 10,
) -> None:
    """Sample architectures with their params and FLOPs; infeasible ones are marked with the reason."""
    spec, shape = _load(file, input_text)
    from nasbench.measure.preview import sample_previews

    previews = sample_previews(spec, n, shape, seed=seed, num_classes=classes)
    where = "x".join(map(str, shape))
    table = Table(
        "#",
        "architecture",
        "params",
        "FLOPs",
        "status",
        title=f"{n} samples of {spec.name} for input {where}",
        title_justify="left",
    )
    for i, p in enumerate(previews):
        table.add_row(str(i), p.arch.summary(), _figure(p.params), _figure(p.flops), _status(p))
    console.print(table)
    console.print("FLOPs of one sample; a multiply-add counts 2.", highlight=False)


def _status(p: Preview) -> str:
    return f"infeasible: {p.infeasible}" if p.infeasible else "ok"
