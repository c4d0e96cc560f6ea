"""The report of one study as a document: summary, targets, leaderboard, documented figures, plots,
protocol, provenance, trials and failures. ``render`` writes it as Markdown and HTML."""

from __future__ import annotations

import pandas as pd

from nasbench.core.enums import Family
from nasbench.report import format as fmt
from nasbench.report import render
from nasbench.report.documented import Documented
from nasbench.report.equal_budget import EqualBudget, replicate_command, verdict
from nasbench.report.study import StudyData, by_validation, protocol, provenance_lines, state_counts
from nasbench.report.targets import check_targets, describe

SORT_HINT = render.Only(render.Format.HTML, " Click a header to sort.")


def study_document(
    data: StudyData,
    board: pd.DataFrame,
    docs: Documented,
    figures: list[render.Figure],
    summary: list[str],
    equal: EqualBudget | None = None,
) -> render.Document:
    """``board``: the study's leaderboard; ``summary``: its sentences in words; ``equal``: the study
    beside its replicates (random search, other seeds) and baselines."""
    return render.Document(
        f"Leaderboard: {data.study.name}",
        (
            render.Paragraph(f"Generated {fmt.utc_now()} from the results database."),
            render.Summary(tuple(summary)),
            targets_section(data),
            *([equal_budget_section(equal)] if equal is not None else []),
            render.Section(
                "Leaderboard (measured here)",
                (
                    render.Paragraph(
                        (
                            "Ranked by ",
                            render.Strong("validation"),
                            " accuracy; test accuracy is measured only for final "
                            "evaluations (the re-training of the top architectures, and the baselines).",
                            SORT_HINT,
                        )
                    ),
                    board_table(board)
                    if len(board)
                    else render.Paragraph(
                        "No trial completed, so there is nothing to rank (see the failures below).", id="leaderboard"
                    ),
                ),
            ),
            *shared_weights_section(data),
            render.Section("Documented figures (published, not measured here)", (documented_tables(docs),)),
            *figure_sections(figures),
            render.Section("Protocol", (render.KeyValues(tuple(protocol(data))),)),
            render.Section(
                "Provenance",
                (
                    render.KeyValues(tuple(provenance_lines(data)))
                    if data.provenance
                    else render.Paragraph("No trial recorded its provenance."),
                ),
            ),
            render.Section("Trials and failures", (trials_group(data),)),
        ),
        title=f"nasbench leaderboard: {data.study.name}",
    )


def figure_sections(figures: list[render.Figure]) -> list[render.Section]:
    """One section per figure, titled by it."""
    return [render.Section(f.title, (f,), inline=True) for f in figures]


def targets_section(data: StudyData) -> render.Block:
    checks = check_targets(data)
    if not checks:
        return render.Group()  # keeps the HTML's empty line where the section would be
    return render.Section(
        "Targets",
        (
            render.Paragraph("Checked on final test accuracy; each network is chosen by validation accuracy."),
            render.Bullets(tuple(render.Item(describe(c), "met" if c.met else "missed") for c in checks)),
        ),
        inline=True,
    )


EQUAL_TITLE = "Does the search beat random search and a hand-written network?"


def equal_budget_section(eb: EqualBudget) -> render.Section:
    """Per seed, the test accuracy of the network chosen by validation: the search, random search at
    the same budget, each baseline; then mean and spread, the verdict in words (from the paired
    differences), and how to add seeds."""
    arms = [a for a in eb.arms if a.by_seed or a.name == "random search"]
    columns = (render.Column("seed", right=True), *(render.Column(a.name, right=True) for a in arms))
    rows = [
        render.Row((render.number(seed, str(seed)), *(_acc(a.by_seed.get(seed)) for a in arms))) for seed in eb.seeds
    ]
    rows.append(render.Row(("mean", *(_acc(a.mean) for a in arms))))
    rows.append(
        render.Row(
            (
                "spread (sd, points)",
                *(render.number(a.spread, "-" if a.spread is None else f"{100 * a.spread:.2f}") for a in arms),
            )
        )
    )
    blocks: list[render.Block] = [
        render.Paragraph(
            (
                "Test accuracy of the network chosen by ",
                render.Strong("validation"),
                " among the final re-trainings, per seed: the search (this study and its seed replicates), "
                "random search at the same budget, and the baselines the study trains under its final protocol. "
                "The verdict pairs the figures seed by seed: the search wins only where the 95% interval of the "
                "mean paired difference (Student's t) lies above zero.",
            )
        ),
        render.Table(columns, tuple(rows), id="equal-budget"),
        render.Bullets(tuple(verdict(eb))),
    ]
    if eb.unfinished:
        studies = ", ".join(f"{name} ({status})" for name, status in sorted(eb.unfinished.items()))
        blocks.append(
            render.Paragraph(
                (
                    f"Not finished, so without a final figure yet: {studies}. "
                    f"Run {replicate_command(eb, eb.seeds)} to resume any that stopped; finished studies "
                    "train nothing again.",
                )
            )
        )
    if eb.replicates > 0 and not eb.arms[1].by_seed:  # seed replicates run with --no-random
        blocks.append(
            render.Paragraph(
                (
                    "Random search at the same budget is not in the database yet. Run "
                    f"{replicate_command(eb, eb.seeds)} to run it at these seeds; finished studies train "
                    "nothing again.",
                )
            )
        )
    elif eb.replicates == 0:
        blocks.append(
            render.Paragraph(
                (
                    # Plain text, not a code span: the study file's path is escaped like any text.
                    f"No replicate of this study is in the database yet. Run {replicate_command(eb)}",
                    " to run the study with more seeds and random search at the same budget, each stored as "
                    "a related study; list hand-written networks under ",
                    render.Code("baselines:"),
                    " in the study file to train them beside it.",
                )
            )
        )
    return render.Section(EQUAL_TITLE, tuple(blocks))


def _acc(value: float | None) -> render.Cell:
    return render.number(value, fmt.accuracy(value, blank="-"))


BOARD_COLUMNS = (
    render.Column("rank", right=True),
    render.Column("name"),
    render.Column("family"),
    render.Column("params", right=True),
    render.Column("FLOPs", "flops", right=True),
    render.Column("latency (ms)", "latency_ms", right=True),
    render.Column("val acc", "val_acc", right=True),
    render.Column("shared-weight score", "shared_val_acc", right=True),
    render.Column("final val acc", "final_val_acc", right=True),
    render.Column("test acc", "test_acc", right=True),
    render.Column("training cost", "train_time_s"),
)


def shared_weights_section(data: StudyData, top: int = 10) -> list[render.Section]:
    """Where the search scored candidates by a supernet: how it was trained, and its best scores apart
    from (and beside) the stand-alone accuracies of the paths re-trained from scratch."""
    searched = data.searched
    shared = searched[searched["evaluator"] == "supernet"]
    if shared.empty:
        return []
    finals = data.finals.set_index("number")
    best = by_validation(shared).drop_duplicates("digest").head(top)
    supernet = data.trials[data.trials["stage"] == "supernet"]
    trained = (
        f"The supernet trained {fmt.integer(supernet['epochs_run'].iloc[0])} epochs in "
        f"{fmt.seconds(supernet['train_time_s'].iloc[0])} "
        f"({supernet['state'].iloc[0]}; its largest path reached {fmt.accuracy(supernet['val_acc'].iloc[0])} "
        "validation accuracy with batch statistics). "
        if len(supernet)
        else ""
    )
    return [
        render.Section(
            "Shared-weight scores (supernet)",
            (
                render.Paragraph(
                    (
                        trained,
                        f"The search scored {len(shared)} candidates by the supernet's ",
                        render.Strong("shared weights"),
                        " (inherited, BatchNorm recalibrated, validated): these scores rank candidates, they are "
                        "not the accuracies the networks reach on their own. Those come from the re-training from "
                        "scratch, the only figures on the leaderboard above.",
                    )
                ),
                render.Table(
                    (
                        render.Column("trial", "number", right=True),
                        render.Column("name"),
                        render.Column("params", right=True),
                        render.Column("shared-weight score", "val_acc", right=True),
                        render.Column("re-trained val acc", "final_val_acc", right=True),
                        render.Column("test acc", "test_acc", right=True),
                    ),
                    tuple(
                        render.Row(
                            (
                                render.number(r.number, str(r.number)),
                                render.Code(str(r.name)),
                                render.number(r.params, fmt.integer(r.params)),
                                render.number(r.val_acc, fmt.accuracy(r.val_acc)),
                                _final(finals, int(str(r.number)), "val_acc"),
                                _final(finals, int(str(r.number)), "test_acc"),
                            )
                        )
                        for r in best.itertuples()
                    ),
                    sortable=True,
                    id="shared-weights",
                ),
            ),
        )
    ]


def _final(finals: pd.DataFrame, number: int, column: str) -> render.Cell:
    value = finals[column].get(number) if number in finals.index else None
    return render.number(value, fmt.accuracy(value))


# Figures only some studies measure (latency, a supernet's scores, the finals' validation, which a
# final trained on the validation split has not): their columns are left out when no row has one.
OPTIONAL_BOARD_COLUMNS = ("latency_ms", "shared_val_acc", "final_val_acc")


def board_table(board: pd.DataFrame) -> render.Table:
    keep = [
        i
        for i, c in enumerate(BOARD_COLUMNS)
        if c.key not in OPTIONAL_BOARD_COLUMNS or (c.key in board and board[c.key].notna().any())
    ]
    rows = tuple(render.Row(tuple(r.cells[i] for i in keep), css=r.css) for r in _board_rows(board))
    return render.Table(tuple(BOARD_COLUMNS[i] for i in keep), rows, sortable=True, id="leaderboard")


def _board_rows(board: pd.DataFrame) -> list[render.Row]:
    rows = []
    for _, r in board.iterrows():
        searched = r["family"] == Family.SEARCHED
        rows.append(
            render.Row(
                (
                    render.number(r["rank"], str(r["rank"])),
                    render.Code(r["name"]) if searched else render.plain(r["name"]),
                    r["family"],
                    render.number(r["params"], fmt.integer(r["params"])),
                    render.number(r["flops"], fmt.integer(r["flops"])),
                    render.number(r["latency_ms"], fmt.decimal(r["latency_ms"], 3)),
                    render.number(r["val_acc"], fmt.accuracy(r["val_acc"])),
                    render.number(r["shared_val_acc"], fmt.accuracy(r["shared_val_acc"])),
                    render.number(r["final_val_acc"], fmt.accuracy(r["final_val_acc"])),
                    render.number(r["test_acc"], fmt.accuracy(r["test_acc"])),
                    render.number(training_seconds(r), training_cost(r)),
                ),
                css="searched" if searched else "baseline",
            )
        )
    return rows


def training_cost(row: pd.Series) -> str:
    """e.g. ``2 ep, 1.5 s`` or ``2 ep, 1.5 s + final 10 ep, 9.0 s``."""
    text = f"{fmt.integer(row['epochs'])} ep, {fmt.seconds(row['train_time_s'])}"
    if not fmt.missing(row["final_train_time_s"]):
        text += f" + final {fmt.integer(row['final_epochs'])} ep, {fmt.seconds(row['final_train_time_s'])}"
    return text


def training_seconds(row: pd.Series) -> float | None:
    """Search plus final training time of a leaderboard row (its sort key)."""
    parts = [row[c] for c in ("train_time_s", "final_train_time_s") if not fmt.missing(row[c])]
    return sum(parts) if parts else None


DOCUMENTED_COLUMNS = (
    render.Column("name"),
    render.Column("family"),
    render.Column("params", right=True),
    render.Column("published figure", "figure"),
    render.Column("source"),
)


def documented_tables(docs: Documented) -> render.Group:
    """One subsection per published table, kept apart from the measured leaderboard."""
    return render.Group(
        tuple(
            render.Section(
                title,
                (
                    render.Table(
                        DOCUMENTED_COLUMNS,
                        tuple(
                            render.Row(
                                (
                                    render.plain(r.name),
                                    "documented",
                                    render.number(r.params, fmt.integer(r.params)),
                                    render.plain(r.figure),
                                    render.plain(r.source),
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


def trials_group(data: StudyData) -> render.Group:
    """Trial counts, candidates rejected as infeasible, and the failed trials with their reasons."""
    counts = sorted(state_counts(data).items())
    blocks: list[render.Block] = [
        # Markdown has always said this in a sentence, HTML in a table.
        render.Only(
            render.Format.MARKDOWN,
            render.Paragraph(
                "Trials: " + ("; ".join(f"{stage} {state}: {n}" for (stage, state), n in counts) or "none") + "."
            ),
        ),
        render.Only(
            render.Format.HTML,
            render.Table(
                (render.Column("stage"), render.Column("state"), render.Column("trials")),
                tuple(render.Row((stage, state, render.number(n, str(n)))) for (stage, state), n in counts),
            )
            if counts
            else render.Paragraph("No trials."),
        ),
    ]
    kinds = data.infeasible
    if kinds:
        blocks += [
            render.Paragraph(
                "Rejected before training as infeasible (not trained, not counted against a trial budget): "
                f"{sum(k.count for k in kinds)}."
            ),
            render.Table(
                (render.Column("candidates", right=True), render.Column("reason (first example)", "reason")),
                tuple(
                    render.Row((render.number(k.count, str(k.count)), f"trial {k.example_number}: {k.example_reason}"))
                    for k in kinds
                ),
            ),
        ]
    bad = data.failures
    if bad.empty:
        blocks.append(render.Paragraph("No trial failed."))
    else:
        blocks.append(
            render.Table(
                (
                    render.Column("trial", "number", right=True),
                    render.Column("stage"),
                    render.Column("state"),
                    render.Column("reason"),
                ),
                tuple(
                    render.Row(
                        (
                            render.number(r.number, str(r.number)),
                            render.plain(r.stage),
                            render.plain(r.state),
                            render.plain(r.failure_reason),
                        )
                    )
                    for r in bad.itertuples()
                ),
                sortable=True,
                id="failures",
            )
        )
    return render.Group(tuple(blocks))
