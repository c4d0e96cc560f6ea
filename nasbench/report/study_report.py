"""The report of one study as a document: summary, targets, leaderboard, documented figures, plots,
protocol, provenance, trials and failures. ``render`` writes it as Markdown and HTML."""

from __future__ import annotations

import pandas as pd

from nasbench.report import format as fmt
from nasbench.report.documented import Documented
from nasbench.report.render import (
    Block,
    Bullets,
    Code,
    Column,
    Document,
    Figure,
    Format,
    Group,
    Item,
    KeyValues,
    Only,
    Paragraph,
    Row,
    Section,
    Strong,
    Summary,
    Table,
    number,
    plain,
)
from nasbench.report.study import StudyData, protocol, provenance_lines, state_counts
from nasbench.report.targets import check_targets, describe

SORT_HINT = Only(Format.HTML, " Click a header to sort.")


def study_document(
    data: StudyData, board: pd.DataFrame, docs: Documented, figures: list[Figure], summary: list[str]
) -> Document:
    """``board``: the study's leaderboard; ``summary``: its sentences in words."""
    return Document(
        f"Leaderboard: {data.name}",
        (
            Paragraph(f"Generated {fmt.utc_now()} from the results database."),
            Summary(tuple(summary)),
            targets_section(data),
            Section(
                "Leaderboard (measured here)",
                (
                    Paragraph(
                        (
                            "Ranked by ",
                            Strong("validation"),
                            " accuracy; test accuracy is measured only for final "
                            "evaluations (the re-training of the top architectures, and zoo baselines).",
                            SORT_HINT,
                        )
                    ),
                    board_table(board)
                    if len(board)
                    else Paragraph(
                        "No trial completed, so there is nothing to rank (see the failures below).", id="leaderboard"
                    ),
                ),
            ),
            Section("Documented figures (published, not measured here)", (documented_tables(docs),)),
            *figure_sections(figures),
            Section("Protocol", (KeyValues(tuple(protocol(data))),)),
            Section(
                "Provenance",
                (
                    KeyValues(tuple(provenance_lines(data)))
                    if data.provenance
                    else Paragraph("No trial recorded its provenance."),
                ),
            ),
            Section("Trials and failures", (trials_group(data),)),
        ),
        title=f"nasbench leaderboard: {data.name}",
    )


def figure_sections(figures: list[Figure]) -> list[Section]:
    """One section per figure, titled by it."""
    return [Section(f.title, (f,), inline=True) for f in figures]


def targets_section(data: StudyData) -> Block:
    checks = check_targets(data)
    if not checks:
        return Group()  # keeps the HTML's empty line where the section would be
    return Section(
        "Targets",
        (
            Paragraph("Checked on final test accuracy; each network is chosen by validation accuracy."),
            Bullets(tuple(Item(describe(c), "met" if c.met else "missed") for c in checks)),
        ),
        inline=True,
    )


BOARD_COLUMNS = (
    Column("rank", right=True),
    Column("name"),
    Column("family"),
    Column("params", right=True),
    Column("FLOPs", "flops", right=True),
    Column("latency (ms)", "latency_ms", right=True),
    Column("val acc", "val_acc", right=True),
    Column("final val acc", "final_val_acc", right=True),
    Column("test acc", "test_acc", right=True),
    Column("training cost", "train_time_s"),
)


def board_table(board: pd.DataFrame) -> Table:
    rows = []
    for _, r in board.iterrows():
        searched = r["family"] == "searched"
        rows.append(
            Row(
                (
                    number(r["rank"], str(r["rank"])),
                    Code(r["name"]) if searched else plain(r["name"]),
                    r["family"],
                    number(r["params"], fmt.integer(r["params"])),
                    number(r["flops"], fmt.integer(r["flops"])),
                    number(r["latency_ms"], fmt.decimal(r["latency_ms"], 3)),
                    number(r["val_acc"], fmt.accuracy(r["val_acc"])),
                    number(r["final_val_acc"], fmt.accuracy(r["final_val_acc"])),
                    number(r["test_acc"], fmt.accuracy(r["test_acc"])),
                    number(training_seconds(r), training_cost(r)),
                ),
                css="baseline" if r["family"] == "zoo baseline" else "searched",
            )
        )
    return Table(BOARD_COLUMNS, tuple(rows), sortable=True, id="leaderboard")


def training_cost(row: pd.Series) -> str:
    """e.g. ``2 ep, 1.5 s`` or ``2 ep, 1.5 s + final 1.0 s``."""
    text = f"{fmt.integer(row['epochs'])} ep, {fmt.seconds(row['train_time_s'])}"
    if not fmt.missing(row["final_train_time_s"]):
        text += f" + final {fmt.seconds(row['final_train_time_s'])}"
    return text


def training_seconds(row: pd.Series) -> float | None:
    """Search plus final training time of a leaderboard row (its sort key)."""
    parts = [row[c] for c in ("train_time_s", "final_train_time_s") if not fmt.missing(row[c])]
    return sum(parts) if parts else None


DOCUMENTED_COLUMNS = (
    Column("name"),
    Column("family"),
    Column("params", right=True),
    Column("published figure", "figure"),
    Column("source"),
)


def documented_tables(docs: Documented) -> Group:
    """One subsection per published table, kept apart from the measured leaderboard."""
    return Group(
        tuple(
            Section(
                title,
                (
                    Table(
                        DOCUMENTED_COLUMNS,
                        tuple(
                            Row(
                                (
                                    plain(r.name),
                                    "documented",
                                    number(r.params, fmt.integer(r.params)),
                                    plain(r.figure),
                                    plain(r.source),
                                ),
                                css="documented",
                            )
                            for r in rows.itertuples()
                        ),
                        sortable=True,
                    ),
                ),
                inline=True,
            )
            for title, rows in docs.tables()
        )
    )


def trials_group(data: StudyData) -> Group:
    """Trial counts, candidates rejected as infeasible, and the failed trials with their reasons."""
    counts = sorted(state_counts(data).items())
    blocks: list[Block] = [
        # Markdown has always said this in a sentence, HTML in a table.
        Only(
            Format.MARKDOWN,
            Paragraph(
                "Trials: " + ("; ".join(f"{stage} {state}: {n}" for (stage, state), n in counts) or "none") + "."
            ),
        ),
        Only(
            Format.HTML,
            Table(
                (Column("stage"), Column("state"), Column("trials")),
                tuple(Row((stage, state, number(n, str(n)))) for (stage, state), n in counts),
            )
            if counts
            else Paragraph("No trials."),
        ),
    ]
    kinds = data.infeasible
    if kinds:
        blocks += [
            Paragraph(
                "Rejected before training as infeasible (not trained, not counted against a trial budget): "
                f"{sum(k.count for k in kinds)}."
            ),
            Table(
                (Column("candidates", right=True), Column("reason (first example)", "reason")),
                tuple(
                    Row((number(k.count, str(k.count)), f"trial {k.example_number}: {k.example_reason}")) for k in kinds
                ),
            ),
        ]
    bad = data.failures
    if bad.empty:
        blocks.append(Paragraph("No trial failed."))
    else:
        blocks.append(
            Table(
                (Column("trial", "number", right=True), Column("stage"), Column("state"), Column("reason")),
                tuple(
                    Row((number(r.number, str(r.number)), plain(r.stage), plain(r.state), plain(r.failure_reason)))
                    for r in bad.itertuples()
                ),
                sortable=True,
                id="failures",
            )
        )
    return Group(tuple(blocks))
