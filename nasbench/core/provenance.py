"""Where a result came from: package versions, git revisions, data and study-file hashes, host."""

from __future__ import annotations

import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("nasbench", "torch", "optuna", "ray", "pytorch-lightning", "sqlalchemy", "numpy")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision(folder: str | Path = ".") -> str | None:
    """The git commit of ``folder`` (with ``-dirty`` if it has changes), or None outside git."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def collect(study_file: str, study_file_hash: str, dataset_hash: str) -> dict[str, object]:
    return {
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_revision": git_revision(Path(study_file).resolve().parent),  # the user's project
        "nasbench_revision": git_revision(Path(__file__).resolve().parent),  # a source checkout of nasbench
        "study_file": study_file,
        "study_file_hash": study_file_hash,
        "dataset_hash": dataset_hash,
        "driver_host": socket.gethostname(),
    }
