"""The study lease (one live driver per study) on real SQLite files and the real PostgreSQL server,
with real processes racing and real kill -9."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text, update

from nasbench.errors import StoreError
from nasbench.store import lease, open_engine, session_scope
from nasbench.store.lease import LeaseHeldError, LeaseLostError
from nasbench.store.models import StudyLeaseRow, StudyRow
from tests.store.helpers import ROOT, run_together

ELSEWHERE = dataclasses.replace(lease.this_driver(), host="other-host", pid=4242, pid_scope="another-machine",
                                started_at=1_700_000_000.0)


def add_studies(engine, n: int = 1) -> list[int]:
    with session_scope(engine) as s:
        rows = [StudyRow(name=f"st{i}", config_json={}, space_json={}, dataset_json={}, split_json={})
                for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.study_id for r in rows]


def holder(engine, study_id: int, **kw) -> lease.LeaseHolder | None:
    with session_scope(engine) as s:
        return lease.read_holder(s, study_id, **kw)


def age_heartbeat(engine, study_id: int, seconds: float) -> None:
    """Move the recorded heartbeat into the past, as if the holder had stopped beating."""
    with session_scope(engine) as s:
        s.execute(update(StudyLeaseRow).where(StudyLeaseRow.study_id == study_id)
                  .values(heartbeat_at=StudyLeaseRow.heartbeat_at - seconds))


def test_acquire_renew_release(db_url):
    engine = open_engine(db_url)
    (sid,) = add_studies(engine)
    held = lease.acquire(engine, sid)
    assert held.study == "st0" and held.driver.pid == os.getpid()
    h = holder(engine, sid)
    assert h.alive and h.pid == os.getpid() and h.host == held.driver.host and h.heartbeat_age_s < 5
    assert abs(h.started_at - held.driver.started_at) < 1e-6

    age_heartbeat(engine, sid, 10)
    assert holder(engine, sid).heartbeat_age_s >= 10
    lease.renew(engine, held)
    assert holder(engine, sid).heartbeat_age_s < 5

    lease.release(engine, held)
    assert holder(engine, sid) is None
    lease.release(engine, held)  # twice is harmless
    lease.release(engine, lease.acquire(engine, sid))  # free again


def test_a_second_driver_is_refused_with_the_running_one_named(db_url):
    engine = open_engine(db_url)
    (sid,) = add_studies(engine)
    first = lease.acquire(engine, sid, driver=ELSEWHERE)
    with pytest.raises(LeaseHeldError) as err:
        lease.acquire(engine, sid)
    message = str(err.value)
    assert isinstance(err.value, StoreError) and err.value.holder.pid == 4242
    assert message.startswith("study 'st0' already has a live driver: PID 4242 on host other-host, started 2023-11-")
    assert message.count(". ") == 0 and message.endswith("wait for it to end or stop it.") and "\n" not in message
    # This very process, alive, is refused as well: a study has one driver.
    lease.release(engine, first)
    lease.acquire(engine, sid)
    with pytest.raises(LeaseHeldError, match=f"PID {os.getpid()} on host"):
        lease.acquire(engine, sid)


def test_an_expired_lease_is_taken_over_and_its_old_driver_finds_out(db_url):
    engine = open_engine(db_url)
    (sid,) = add_studies(engine)
    old = lease.acquire(engine, sid, driver=ELSEWHERE)
    with pytest.raises(LeaseHeldError):
        lease.acquire(engine, sid)  # fresh: not before the TTL
    age_heartbeat(engine, sid, lease.TTL_S + 1)
    assert not holder(engine, sid).alive

    new = lease.acquire(engine, sid)
    assert holder(engine, sid).pid == os.getpid()
    lost = (rf"study 'st0': this driver \(PID 4242\) lost its lease after its heartbeat lapsed "
            rf"\(now held by PID {os.getpid()} ")
    with pytest.raises(LeaseLostError, match=lost):
        lease.renew(engine, old)
    lease.release(engine, old)  # the old driver's release leaves the new lease alone
    assert holder(engine, sid).alive
    lease.renew(engine, new)


def test_expiry_follows_the_database_clock_with_a_short_ttl(db_url):
    engine = open_engine(db_url)
    (sid,) = add_studies(engine)
    lease.acquire(engine, sid, driver=ELSEWHERE, ttl=1.0)
    with pytest.raises(LeaseHeldError):
        lease.acquire(engine, sid, ttl=1.0)
    time.sleep(1.3)
    assert not holder(engine, sid, ttl=1.0).alive and holder(engine, sid).alive  # alive for the real TTL
    lease.acquire(engine, sid, ttl=1.0)


def test_a_driver_killed_on_this_machine_is_replaced_at_once(db_url):
    engine = open_engine(db_url)
    (sid,) = add_studies(engine)
    code = ("import sys, time\nfrom nasbench.store import lease, open_engine\n"
            f"lease.acquire(open_engine({db_url!r}), {sid})\nprint('held', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(LeaseHeldError, match=f"PID {proc.pid} on host"):
            lease.acquire(engine, sid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    h = holder(engine, sid)
    assert h.pid == proc.pid and h.heartbeat_age_s < lease.TTL_S and not h.alive  # status: driver gone
    started = time.monotonic()
    lease.acquire(engine, sid)
    assert time.monotonic() - started < 2  # no waiting for the TTL


@pytest.mark.slow
def test_racing_drivers_exactly_one_wins(db_url):
    """Three processes race for each study: free, expired (another machine's driver stopped
    beating) and dead (this machine's driver was killed)."""
    engine = open_engine(db_url)
    ids = add_studies(engine, 6)
    kinds = ["free", "expired", "dead"] * 2
    for sid, kind in zip(ids, kinds, strict=True):
        if kind == "expired":
            lease.acquire(engine, sid, driver=ELSEWHERE)
            age_heartbeat(engine, sid, lease.TTL_S + 5)
        elif kind == "dead":
            lease.acquire(engine, sid, driver=dataclasses.replace(lease.this_driver(), pid=dead_pid()))
    runs = run_together("""
        engine = open_engine(URL, create=False)
        for r, sid in enumerate(IDS):
            time.sleep(max(0.0, START + 0.3 * r - time.time()))
            try:
                lease.acquire(engine, sid)
                print(sid, "won", flush=True)
            except lease.LeaseHeldError:
                print(sid, "refused", flush=True)
        time.sleep(max(0.0, START + 0.3 * len(IDS) + 2 - time.time()))  # hold until every racer is done
    """, n=3, URL=db_url, IDS=ids)
    outcomes: dict[int, list[str]] = {sid: [] for sid in ids}
    for r in runs:
        assert r.returncode == 0, r.stderr
        for line in r.stdout.split("\n"):
            if line:
                sid, outcome = line.split()
                outcomes[int(sid)].append(outcome)
    for sid, kind in zip(ids, kinds, strict=True):
        assert sorted(outcomes[sid]) == ["refused", "refused", "won"], (kind, outcomes[sid])


def test_keeper_renews_while_held_and_hold_releases(db_url):
    engine = open_engine(db_url)
    (sid,) = add_studies(engine)
    with lease.hold(engine, sid, interval=0.2) as keeper:
        age_heartbeat(engine, sid, 100)
        time.sleep(0.7)
        assert holder(engine, sid).heartbeat_age_s < 0.6 and keeper.last_error is None
        keeper.check()
    assert holder(engine, sid) is None


def test_keeper_reports_a_lost_lease(db_url):
    engine = open_engine(db_url)
    (sid,) = add_studies(engine)
    lost = []
    with lease.hold(engine, sid, interval=0.2, on_lost=lost.append) as keeper:
        with engine.begin() as conn:  # another driver took over (as after a lapse)
            conn.execute(text("UPDATE nb_study_leases SET token = 'someone-else', pid = 4242"))
        time.sleep(0.7)
        assert len(lost) == 1 and keeper.lost is lost[0]
        with pytest.raises(LeaseLostError, match="now held by PID 4242"):
            keeper.check()
    assert holder(engine, sid).pid == 4242  # leaving the block did not release the other's lease


def test_an_unknown_study_is_named(db_url):
    engine = open_engine(db_url)
    with pytest.raises(StoreError, match="no study with id 99 in the database"):
        lease.acquire(engine, 99)


def dead_pid() -> int:
    """The PID of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_readers_see_the_lease_table_models_declare():
    # status reads the holder through a Core table of its own (no ORM import): the same columns.
    from nasbench.store.holder import LEASES

    assert [c.name for c in LEASES.c] == [c.name for c in StudyLeaseRow.__table__.c]
    assert LEASES.name == StudyLeaseRow.__tablename__
