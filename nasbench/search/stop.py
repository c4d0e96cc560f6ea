"""Stopping a running search from outside: Ctrl-C (SIGINT), SIGTERM, or a lost driver lease.

The first signal asks the search to stop; nothing is killed from the handler. Tune ends its run at
its next step (``FailureStopper.stop_all``), the trials still training are closed as interrupted
with the signal named and left running in Optuna, so that re-running the study re-queues them
exactly as after ``kill -9``; the final stage is skipped and the command exits 128 + the signal
number (130, 143). A second signal stops the driver at once (``SystemExit``, so the lease and the
embedded Ray are still released on the way out).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

SIGNAL_NAMES = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}


@dataclass
class StopRequest:
    """Why the search was asked to stop from outside, and the exit code that goes with it."""

    reason: str | None = None
    exit_code: int = 1

    @property
    def asked(self) -> bool:
        return self.reason is not None

    def ask(self, reason: str, exit_code: int) -> None:
        if self.reason is None:  # the first cause is the one reported
            self.reason, self.exit_code = reason, exit_code

    def lease_lost(self, message: str) -> None:
        """The study's lease was taken over by another driver: this one must stop writing."""
        self.ask(message, 1)

    @property
    def trial_reason(self) -> str:
        """What a trial that was training when the search stopped is marked with."""
        return f"{self.reason}; re-queued when the study is resumed"


@contextmanager
def stop_on_signals(stop: StopRequest, notify: Callable[[str], None]) -> Iterator[StopRequest]:
    """Turn SIGINT and SIGTERM into ``stop`` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        name = SIGNAL_NAMES[signal.Signals(signum)]
        if stop.asked:
            raise SystemExit(128 + signum)
        stop.ask(f"interrupted by {name}", 128 + signum)
        notify(f"{name} received: stopping the search (send it again to stop at once)")

    # Tune installs its own SIGINT handler in fit() unless told not to; ours must stay in charge.
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    previous = {sig: signal.signal(sig, handler) for sig in SIGNAL_NAMES}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
