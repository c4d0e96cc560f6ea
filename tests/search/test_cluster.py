"""``--ray-address``: a search joins a real Ray cluster on localhost (``ray start --head`` plus a
worker node, each its own process tree) and its trials run on the worker node, which gets the
data set through Ray's object store.

The head offers no CPUs, so every trial must run on the other node: that makes "the work left
the driver's node" a certainty rather than a race. Since Ray 2.59 a cluster started with
``ray start`` requires token authentication; every process here shares one token through the
environment, as a user's nodes and driver would.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.search.helpers import end_session, quick_study

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


RAY = str(Path(sys.executable).with_name("ray"))
NASBENCH = [sys.executable, "-m", "nasbench.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(address: str, deadline: float) -> None:
    """Until the head's GCS accepts connections: a driver started before that can wait minutes
    in Ray's own reconnect loop (seen on a loaded CI machine), so no driver is started earlier."""
    host, port = address.rsplit(":", 1)
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {address} yet")


def cluster_nodes(address: str, env: dict[str, str]) -> list[dict]:
    """Alive nodes as the cluster reports them (asked from a separate driver process); none when
    the cluster does not answer in time, so that callers poll again until their own deadline."""
    code = (f"import json, ray; ray.init(address={address!r}, logging_level='ERROR'); "
            "print(json.dumps([{'id': n['NodeID'], 'cpu': n['Resources'].get('CPU', 0)} "
            "for n in ray.nodes() if n['Alive']]))")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=90)
    except subprocess.TimeoutExpired:
        return []
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []


@pytest.fixture
def cluster(tmp_path):
    """A head (0 CPUs) and a worker node (2 CPUs) on localhost; torn down by pid, whatever happens."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    common = ["--node-ip-address=127.0.0.1", "--block", "--disable-usage-stats"]
    procs = [subprocess.Popen([RAY, "start", "--head", f"--port={port}", "--num-cpus=0",
                               "--include-dashboard=false", *common],
                              stdout=open(tmp_path / "head.log", "w"), stderr=subprocess.STDOUT, env=env,
                              start_new_session=True)]
    try:
        deadline = time.monotonic() + 180
        wait_for_port(address, deadline)
        procs.append(subprocess.Popen([RAY, "start", f"--address={address}", "--num-cpus=2", *common],
                                      stdout=open(tmp_path / "node.log", "w"), stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True))
        nodes = []
        while len(nodes) < 2 and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), (tmp_path / "head.log").read_text()[-2000:]
            nodes = cluster_nodes(address, env)
        assert len(nodes) == 2, "the two-node cluster did not come up"
        yield address, env, nodes
    finally:
        for p in reversed(procs):
            end_session(p, grace=5)  # the search has ended: nothing on the nodes to save


def test_search_joins_an_existing_cluster(tmp_path, cluster):
    address, env, nodes = cluster
    worker_node = next(n["id"] for n in nodes if n["cpu"] == 2)
    db = tmp_path / "results.db"
    study = quick_study(tmp_path, "on-cluster", sampler="{name: random}", budget="{trials: 4}")
    run = subprocess.run([*NASBENCH, "search", str(study), "--db", f"sqlite:///{db}", "--ray-address", address],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 complete" in run.stdout

    with sqlite3.connect(db) as con:
        workers = [w for (w,) in con.execute("select worker from nb_trials where state = 'complete'")]
    assert len(workers) == 4
    assert all(w.endswith(f"({worker_node[:8]})") for w in workers), workers

    # The cluster outlives the search (the driver only disconnects) and takes the next one.
    assert len(cluster_nodes(address, env)) == 2


def test_unreachable_address_is_one_clear_sentence(tmp_path):
    study = quick_study(tmp_path, "nowhere", budget="{trials: 1}")
    address = f"127.0.0.1:{free_port()}"
    db = f"sqlite:///{tmp_path / 'r.db'}"
    run = subprocess.run([*NASBENCH, "search", str(study), "--db", db, "--ray-address", address],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 2
    assert f"--ray-address {address}: cannot join a Ray cluster there" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "r.db").exists()  # nothing written


@pytest.fixture(scope="module")
def token_head(tmp_path_factory):
    """A head node alone (no CPUs) of a cluster with token authentication."""
    tmp_path = tmp_path_factory.mktemp("token_head")
    port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    head = subprocess.Popen([RAY, "start", "--head", f"--port={port}", "--num-cpus=0", "--include-dashboard=false",
                             "--node-ip-address=127.0.0.1", "--block", "--disable-usage-stats"],
                            stdout=open(tmp_path / "head.log", "w"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        wait_for_port(f"127.0.0.1:{port}", deadline)
        while not cluster_nodes(f"127.0.0.1:{port}", env) and time.monotonic() < deadline:
            assert head.poll() is None, (tmp_path / "head.log").read_text()[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        end_session(head, grace=3)  # nothing to save on a head that ran no work


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_missing_or_wrong_ray_token_is_named_at_once(tmp_path, token_head, token):
    study = quick_study(tmp_path, "no-token", budget="{trials: 1}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    if token is not None:
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    t0 = time.monotonic()
    db = f"sqlite:///{tmp_path / 'r.db'}"
    run = subprocess.run([*NASBENCH, "search", str(study), "--db", db, "--ray-address", token_head],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    took = time.monotonic() - t0
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.strip().splitlines() == [
        f"error: --ray-address {token_head}: the cluster uses token authentication and this driver's token is "
        "missing or wrong; export RAY_AUTH_MODE=token and RAY_AUTH_TOKEN set to the cluster's token (the head "
        "node's ~/.ray/auth_token), as on its nodes."
    ]
    assert not (tmp_path / "r.db").exists()  # nothing written
    assert took < 15, f"{took:.0f} s to refuse (Ray alone retries for about 20 s)"
