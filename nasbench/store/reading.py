"""What reports read: a study as stored, typed, with its trials and curves as DataFrames."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.search.final import ChoiceKey, choice_order
from nasbench.search.ledger import StoredStudy
from nasbench.store.db import session_scope
from nasbench.store.ledger import stored_study
from nasbench.store.models import StudyRow, TrialRow
from nasbench.store.records import get_study, load_epochs, load_trials
from nasbench.store.rows import study_row


@dataclass(frozen=True)
class StudyRecord:
    """One study: its typed record, trials (with ``arch`` values), curves, and the distinct
    provenance records of the driver sessions that wrote it."""

    study: StoredStudy
    trials: pd.DataFrame
    epochs: pd.DataFrame
    provenance: list[dict[str, Any]]

    # The named queries every report reads (one place says what "the finals" are).
    @property
    def searched(self) -> pd.DataFrame:
        """Completed search-stage trials of searched architectures, in trial order."""
        return self._complete(Family.SEARCHED, Stage.SEARCH)

    @property
    def finals(self) -> pd.DataFrame:
        """Completed final re-trainings of searched architectures (they carry test accuracy), under
        the study's final protocol: one trained under an earlier protocol of the study file (a
        trial that is no longer chosen keeps it) is not what the report describes."""
        finals = self._complete(Family.SEARCHED, Stage.FINAL)
        final = self.study.config.final
        if final is None:
            return finals
        return finals[finals["fidelity"].map(final.fidelity.same_as).astype(bool)]

    @property
    def finals_by_validation(self) -> pd.DataFrame:
        """The final re-trainings, the one chosen by validation first: by the validation accuracy
        of the re-training; those without one (they trained on the validation split) in the order
        the final stage chose them from the search (``nasbench.search.final.choice_order``)."""
        t = self.trials
        search = t[(t["family"] == Family.SEARCHED) & (t["stage"] == Stage.SEARCH)]
        order: dict[int, ChoiceKey] = {}
        columns = (search[c].tolist() for c in ("state", "epochs_run", "val_acc", "val_loss", "number"))
        for state, epochs, val, loss, number in zip(*columns, strict=True):
            key = choice_order(TrialState(state), int(epochs), optional_float(val), optional_float(loss), int(number))
            order[int(number)] = min(key, order.get(int(number), key))  # a number stored twice keeps its better row
        place = {number: i for i, number in enumerate(sorted(order, key=order.__getitem__))}
        # pandas sorts NaN last either way: finals without a validation figure follow the others,
        # and a final whose search trial is missing follows those.
        finals = self.finals.assign(search_order=self.finals["number"].map(place))
        return finals.sort_values(["val_acc", "search_order", "number"], ascending=[False, True, True]).drop(
            columns="search_order"
        )

    @property
    def baselines(self) -> pd.DataFrame:
        """Completed baselines (zoo networks, hand-written architectures) trained under the study's protocol."""
        return self._complete(Family.BASELINE)

    @property
    def failures(self) -> pd.DataFrame:
        """Trials that trained and failed or were interrupted (infeasible ones are counted apart)."""
        return self.trials[self.trials["state"].isin([TrialState.FAILED, TrialState.INTERRUPTED])]

    def _complete(self, family: Family, stage: Stage | None = None) -> pd.DataFrame:
        t = self.trials
        keep = (t["family"] == family) & (t["state"] == TrialState.COMPLETE)
        return t[keep & (t["stage"] == stage)] if stage is not None else t[keep]


def read_study(engine: Engine, name: str) -> StudyRecord:
    """Read study ``name``; an unknown name raises ConfigError listing the studies."""
    with session_scope(engine) as s:
        study_row(s, name)  # names an unknown study
        row = get_study(s, name)
        assert row is not None
        stored = stored_study(row)
        provenance = _distinct(
            s.scalars(
                select(TrialRow.provenance_json).where(TrialRow.study_id == row.study_id).order_by(TrialRow.trial_id)
            )
        )
    return StudyRecord(stored, load_trials(engine, name, with_arch=True), load_epochs(engine, name), provenance)


def optional_float(v: Any) -> float | None:
    """A stored figure as a float, or None where the row has none (NaN or None in a DataFrame)."""
    return None if v is None or pd.isna(v) else float(v)


def _distinct(records: Any) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec:
            seen.setdefault(json.dumps(rec, sort_keys=True, default=str), rec)
    return list(seen.values())


def related_studies(engine: Engine, name: str) -> list[StudyRecord]:
    """Study ``name``'s family: the study it replicates (or itself) and every replicate of that
    study (``nasbench replicate``: ``replicate.of`` in their configs), in creation order."""
    with session_scope(engine) as s:
        study_row(s, name)  # names an unknown study
        stored = [stored_study(row) for row in s.scalars(select(StudyRow).order_by(StudyRow.study_id))]
    this = next(st for st in stored if st.name == name)
    base = this.config.replicate.of if this.config.replicate is not None else name
    family = [st for st in stored if st.name == base or (st.config.replicate and st.config.replicate.of == base)]
    return [StudyRecord(st, load_trials(engine, st.name, with_arch=True), pd.DataFrame(), []) for st in family]
