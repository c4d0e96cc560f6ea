"""Which stored run an export re-creates: a named query over a study's trials (``nasbench export``)."""

from __future__ import annotations

from pathlib import Path

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.core.text import safe_name
from nasbench.errors import ConfigError
from nasbench.search.ledger import StoredStudy, TrialSummary
from nasbench.store.ledger import SqlLedger
from nasbench.train.export import FORMATS, ExportJob


def export_job(
    ledger: SqlLedger,
    study: str,
    trial: int | None = None,
    best: bool = False,
    fmt: str = "torchscript",
    out_dir: Path = Path("exports"),
) -> ExportJob:
    """The export of trial ``trial`` of ``study`` (with ``best`` or no trial: its best by validation).

    The architecture is re-trained at the study's final fidelity (its search fidelity when it has
    no final section), and compared with the stored run at that fidelity when there is one.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if best and trial is not None:
        raise ConfigError(f"--trial {trial} and --best both given; choose one.")
    stored = ledger.find_study(study)
    if stored is None:
        raise ConfigError(
            f"no study named {study!r} in the database; studies: {', '.join(ledger.study_names()) or 'none'}."
        )
    trials = ledger.trials(stored.study_id)
    row = best_searched(stored, trials) if trial is None else searched_trial(stored, trials, trial)
    cfg = stored.config
    final = cfg.final is not None
    seed, val, test, notes = stored_run(stored, trials, row, final)
    fidelity = cfg.final.fidelity if cfg.final is not None else cfg.fidelity
    if fidelity.time is not None and (run := final_run(trials, row.number)) is not None:
        # The allowance chose the epochs at the pace of the machine that trained the final: the
        # export repeats those epochs. It is the same training: measuring the pace may draw random
        # numbers (dropout in its copy of the network), but it restores torch's random state after.
        fidelity = fidelity.model_copy(update={"epochs": run.epochs_run, "time": None})
    assert row.arch is not None
    return ExportJob(
        study=stored.name,
        trial=row.number,
        arch=row.arch,
        data=cfg.data,
        data_hash=stored.dataset.content_hash,
        recipe=cfg.recipe,
        fidelity=fidelity,
        seed=seed,
        threads=max(1, int(cfg.resources.cpu)),
        fmt=fmt,
        out_dir=out_dir,
        stem=f"{safe_name(stored.name)}_trial{row.number}",
        stored_val_acc=val,
        stored_test_acc=test,
        notes=tuple(notes),
    )


def best_searched(stored: StoredStudy, trials: list[TrialSummary]) -> TrialSummary:
    """The searched architecture ranked first by validation accuracy (never test)."""
    done = [
        t
        for t in trials
        if t.stage == Stage.SEARCH
        and t.family == Family.SEARCHED
        and t.state == TrialState.COMPLETE
        and t.val_acc is not None
    ]
    if not done:
        raise ConfigError(f"study {stored.name!r} has no completed searched trial to export.")
    return min(done, key=lambda t: (-(t.val_acc or 0.0), t.number))


def searched_trial(stored: StoredStudy, trials: list[TrialSummary], number: int) -> TrialSummary:
    rows = [t for t in trials if t.stage == Stage.SEARCH and t.family == Family.SEARCHED and t.number == number]
    if not rows:
        base = [t for t in trials if t.family == Family.BASELINE and t.number == number]
        if base:
            raise ConfigError(
                f"--trial {number} is the zoo baseline {base[0].name!r}; export rebuilds searched architectures only."
            )
        raise ConfigError(f"--trial {number}: study {stored.name!r} has no searched trial with that number.")
    if rows[0].state != TrialState.COMPLETE:
        raise ConfigError(f"--trial {number}: the trial is {rows[0].state}; export a completed trial.")
    return rows[0]


def stored_run(
    stored: StoredStudy, trials: list[TrialSummary], row: TrialSummary, final: bool
) -> tuple[int, float | None, float | None, list[str]]:
    """The stored run at the export's fidelity: (seed, val_acc, test_acc, notes on what differs)."""
    notes = []
    if stored.config.resources.gpu > 0:
        notes.append("the study trained on GPU and the export re-trains on CPU, so figures may differ slightly.")
    if not final:
        notes.append("the study has no final section: re-trained at search fidelity, where no test accuracy is stored.")
        return row.seed, row.val_acc, None, notes
    run = final_run(trials, row.number)
    if run is None:
        notes.append(
            f"trial {row.number} had no final training stored (it was not selected for "
            "final training), so there is no stored test accuracy to compare."
        )
        return row.seed, None, None, notes
    return run.seed, run.val_acc, run.test_acc, notes


def final_run(trials: list[TrialSummary], number: int) -> TrialSummary | None:
    """Trial ``number``'s completed final re-training, if it has one."""
    runs = (
        t
        for t in trials
        if t.stage == Stage.FINAL
        and t.family == Family.SEARCHED
        and t.number == number
        and t.state == TrialState.COMPLETE
    )
    return next(runs, None)
