"""Ray's lifecycle for a driver: join a cluster or start an embedded local Ray, and size trials."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from nasbench.errors import ConfigError
from nasbench.search import watchdog

_watchdog: subprocess.Popen | None = None  # stops the embedded Ray if this driver is killed


def start_ray(address: str | None) -> bool:
    """Connect to ``address`` or start an embedded local Ray; True if this call started it."""
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # The legacy reporter with verbose=0 prints nothing; our callback shows progress instead.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if address is None:
        global _watchdog
        _start_local_ray()
        _watchdog = watchdog.start()
        return True
    check_reachable(address)
    check_token(address)
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ConfigError(
            f"--ray-address {address}: cannot join a Ray cluster there ({_first_line(e)}); "
            "start one with `ray start --head` or check the address."
        ) from e
    return True


def _start_local_ray(attempts: int = 2) -> None:
    """Start a fresh embedded Ray; retry once, since a loaded machine can miss Ray's start-up timeout.

    "local" starts a new instance: plain None would join any cluster a `ray start` left on this
    machine (Ray remembers it in /tmp/ray), even a dead one.
    """
    import ray

    for attempt in range(attempts):
        try:
            ray.init(
                address="local",
                include_dashboard=False,
                logging_level=logging.ERROR,
                log_to_driver=False,
                configure_logging=True,
            )
            return
        except ConnectionError:
            ray.shutdown()
            if attempt == attempts - 1:
                raise


def stop_ray(started: bool) -> None:
    """Shut down the Ray this driver started (a joined cluster is left alone)."""
    if started:
        import ray

        global _watchdog
        ray.shutdown()
        watchdog.stop(_watchdog)
        _watchdog = None


def check_reachable(address: str) -> None:
    """Refuse a ``host:port`` nobody listens on at once: Ray itself would keep retrying for minutes."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise ConfigError(
            f"--ray-address {address}: cannot join a Ray cluster there ({e.strerror or e}); "
            "start one with `ray start --head` or check the address."
        ) from e


def check_token(address: str) -> None:
    """Refuse at once a cluster that wants a token this driver lacks or has wrong.

    Since Ray 2.59 ``ray start`` clusters require token authentication; ``ray.init`` with a
    missing or wrong token logs warnings for about 20 s and then reports that no cluster is there.
    Asking the cluster's GCS one question answers in milliseconds. Ray Client (``ray://``) and
    addresses Ray resolves itself (``auto``) are left to Ray.
    """
    host, sep, port = address.rpartition(":")
    if address.startswith("ray://") or not sep or not port.isdigit():
        return
    from ray._raylet import GcsClient  # type: ignore[attr-defined]  # asks the GCS without joining
    from ray.exceptions import AuthenticationError

    try:
        with _stderr_silenced():  # Ray's C++ client logs each refusal; the error below says it once
            GcsClient(address=f"{host}:{port}").internal_kv_get(b"nasbench-probe", None, timeout=10)
    except AuthenticationError as e:
        raise ConfigError(
            f"--ray-address {address}: the cluster uses token authentication and this driver's token is "
            "missing or wrong; export RAY_AUTH_MODE=token and RAY_AUTH_TOKEN set to the cluster's token "
            "(the head node's ~/.ray/auth_token), as on its nodes."
        ) from e
    except Exception:
        return


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 to /dev/null while the block runs (C++ code writes there directly)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0].rstrip(".")


@dataclass(frozen=True)
class TrialResources:
    """What each trial takes from the cluster, and the torch device it trains on."""

    cpu: float
    gpu: float

    @property
    def device(self) -> str:
        return "cuda" if self.gpu > 0 else "cpu"

    @property
    def threads(self) -> int:
        return max(1, int(self.cpu))

    def as_ray(self) -> dict[str, float]:
        return {"cpu": self.cpu, "gpu": self.gpu}


def trial_resources(cpu: float, gpu: float) -> TrialResources:
    """Per-trial resources: 1 GPU per trial when the cluster has GPUs and none were set."""
    import ray

    gpus = ray.cluster_resources().get("GPU", 0)
    return TrialResources(cpu, gpu if gpu > 0 else (1.0 if gpus > 0 else 0.0))


def spread_over(resources: TrialResources, jobs: int) -> TrialResources:
    """CPU trials of a stage that has the cluster to itself (the final re-trainings, the baselines;
    ``resources.spread_final``): each of its ``jobs`` takes the whole CPUs the others leave idle, at
    most one node's, as torch threads. One finalist on 2 idle cores trains 1.6-1.7x faster on 2
    threads than on 1 (``benchmarks/final_threads.py``); while searching, trials fill every CPU."""
    import ray

    if resources.gpu > 0 or jobs < 1:
        return resources
    per_node = max((n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")), default=0.0)
    share = min(int(ray.cluster_resources().get("CPU", 0.0) // jobs), int(per_node))
    return TrialResources(float(share), resources.gpu) if share > resources.cpu else resources


def max_concurrency(resources: TrialResources) -> int:
    """How many trials of ``resources`` the cluster holds at once."""
    import ray

    total = ray.cluster_resources()
    n = max(1, int(total.get("CPU", 1) // resources.cpu))
    if resources.gpu > 0:
        n = min(n, max(1, int(total.get("GPU", 1) // resources.gpu)))
    return n
