"""Ray's lifecycle for a driver: join a cluster or start an embedded local Ray, and size trials."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
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


def max_concurrency(resources: TrialResources) -> int:
    """How many trials of ``resources`` the cluster holds at once."""
    import ray

    total = ray.cluster_resources()
    n = max(1, int(total.get("CPU", 1) // resources.cpu))
    if resources.gpu > 0:
        n = min(n, max(1, int(total.get("GPU", 1) // resources.gpu)))
    return n
