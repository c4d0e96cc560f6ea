"""Study progress for ``nasbench status``."""

from __future__ import annotations

from typing import Any, cast

from nasbench.errors import ConfigError
from nasbench.report.study import infeasible_kinds
from nasbench.store import load_trials, open_reader, session_scope
from nasbench.store.lease import LeaseHolder, read_holder
from nasbench.store.records import get_study, study_names


def study_status(db_url: str | None, study: str) -> dict[str, Any]:
    engine = open_reader(db_url)
    with session_scope(engine) as s:
        row = get_study(s, study)
        if row is None:
            raise ConfigError(
                f"no study named {study!r} in the database; studies: {', '.join(study_names(s)) or 'none'}."
            )
        info = {"status": row.status, "elapsed_s": row.elapsed_s, "budget": row.config_json.get("budget")}
        info["driver"] = driver_line(row.status, read_holder(s, row.study_id))
    df = load_trials(engine, study)
    info["counts"] = df.groupby(["stage", "state"]).size().to_dict() if len(df) else {}
    done = df[(df["stage"] == "search") & (df["state"] == "complete")].sort_values("val_acc", ascending=False)
    info["best"] = done.iloc[0][["number", "val_acc", "name"]].to_dict() if len(done) else None
    bad = df[df["state"].isin(["failed", "interrupted"])]
    info["failures"] = [
        {"number": int(cast(int, r.number)), "state": r.state, "reason": r.failure_reason} for r in bad.itertuples()
    ]
    info["infeasible"] = infeasible_kinds(df) if len(df) else []
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
    if status == "running":
        return (
            "driver: none alive (it stopped without closing the study); run the same `nasbench search` again to resume"
        )
    return None
