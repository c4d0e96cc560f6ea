"""`nasbench doctor`: versions, the CPUs/GPUs Ray sees, data sets found, the database with its password masked."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from nasbench.cli import app
from nasbench.cli.doctor import diagnose

URL = "postgresql+psycopg://alice:s3cret-pw@127.0.0.1:1/results"


@pytest.mark.slow  # starts Ray
def test_doctor_reports_versions_resources_data_and_a_masked_database(ray_local):
    info = diagnose(URL)
    for package in ("torch", "optuna", "ray", "pytorch-lightning", "sqlalchemy"):
        assert info[f"version {package}"][0].isdigit()
    assert info["cpus (os)"] == str(os.cpu_count())
    assert info["ray CPUs"] == str(int(ray_local.cluster_resources()["CPU"]))
    assert info["ray GPUs"] == str(int(ray_local.cluster_resources().get("GPU", 0)))
    data = info["data sets"]
    assert "fashion_mnist (60000+10000 at" in data  # the Debian package the test setup installs
    assert "digits (1797+0" in data and "mnist1d (generated locally)" in data
    assert info["database"] == "postgresql+psycopg://alice:***@127.0.0.1:1/results"
    assert info["database reachable"].startswith("no: ") and "s3cret-pw" not in info["database reachable"]


@pytest.mark.slow  # starts Ray
def test_doctor_command_prints_it_without_the_password(ray_local):
    r = CliRunner().invoke(app, ["doctor", "--db", URL])
    assert r.exit_code == 0, r.output
    assert "version torch" in r.output and "alice:***@" in r.output
    assert "s3cret-pw" not in r.output
