"""Provenance: package versions, git revisions and hashes, without a search."""

from __future__ import annotations

from pathlib import Path

from nasbench.core.provenance import PACKAGES, collect, git_revision, package_versions


def test_every_package_is_listed_with_a_version_or_not_installed() -> None:
    versions = package_versions()
    assert set(versions) == set(PACKAGES) and versions["torch"][0].isdigit()


def test_git_revision_is_none_outside_git(tmp_path: Path) -> None:
    assert git_revision(tmp_path) is None


def test_collect_names_the_study_file_and_hashes(tmp_path: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text("name: x\n")
    prov = collect(str(study), "abc", "def")
    assert (prov["study_file"], prov["study_file_hash"], prov["dataset_hash"]) == (str(study), "abc", "def")
    assert prov["git_revision"] is None and prov["driver_host"]
