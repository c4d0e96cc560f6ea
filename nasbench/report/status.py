"""Study progress for ``nasbench status``: a few rows read without pandas, so it answers at once."""

from __future__ import annotations

from collections import Counter
from typing import Any

from nasbench.core.enums import Stage, TrialState
from nasbench.report.infeasible import infeasible_kinds
from nasbench.store.db import open_reader, reading
from nasbench.store.holder import LeaseHolder, read_holder
from nasbench.store.rows import study_row, trial_rows


def study_status(db_url: str | None, study: str) -> dict[str, Any]:
    with reading(open_reader(db_url)) as conn:
        row = study_row(conn, study)  # names an unknown study
        info = {"status": row.status, "elapsed_s": row.elapsed_s, "budget": row.config_json.get("budget")}
        info["driver"] = driver_line(row.status, read_holder(conn, row.study_id))
        trials = trial_rows(conn, study)
    info["counts"] = dict(Counter((t["stage"], t["state"]) for t in trials))
    done = [
        t
        for t in trials
        if t["stage"] == Stage.SEARCH and t["state"] == TrialState.COMPLETE and t["val_acc"] is not None
    ]
    best = min(done, key=lambda t: (-t["val_acc"], t["number"]), default=None)  # ties: the earliest
    info["best"] = None if best is None else {k: best[k] for k in ("number", "val_acc", "name", "evaluator")}
    info["failures"] = [
        {"number": t["number"], "state": t["state"], "reason": t["failure_reason"]}
        for t in trials
        if t["state"] in ("failed", "interrupted")
    ]
    info["infeasible"] = infeasible_kinds(trials)
    return info


def driver_line(status: str, holder: LeaseHolder | None) -> str | None:
    """Whether the study's driver is alive, as one line (None for a study nobody is running)."""
    if holder is not None and holder.alive:
        return f"driver: {holder.describe()}, alive (heartbeat {holder.heartbeat_age_s:.0f} s ago)"
    if holder is not None:
        return (
            f"driver: {holder.describe()}, gone (no heartbeat for {holder.heartbeat_age_s:.0f} s); "
            "run the same `nasbench search` again to resume"
        )
    if status == TrialState.RUNNING:
        return (
            "driver: none alive (it stopped without closing the study); run the same `nasbench search` again to resume"
        )
    return None
