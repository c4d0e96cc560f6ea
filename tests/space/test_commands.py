"""``nasbench space show`` and ``nasbench space sample`` (the Typer sub-app, run in-process)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from nasbench.cli.space import app
from tests.space.helpers import ROOT

SPACES_DIR = ROOT / "search_spaces"


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_show_lists_the_choices_the_cardinality_and_an_example_with_its_figures() -> None:
    result = run("show", str(SPACES_DIR / "resnet_like.yaml"), "--input", "1x28x28")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "stage.kernel (shared by all stages)" in out and "3, 5" in out
    assert "residual, bottleneck" in out and "256, 512" in out
    assert "cardinality: 2,746,220,544 architectures (about 2.7e9)" in out
    example = re.search(r"example for input 1x28x28: (s\d+.*)\n\s+params ([\d,]+), FLOPs ([\d,]+)", out)
    assert example, out
    assert int(example.group(2).replace(",", "")) > 0 and int(example.group(3).replace(",", "")) > 0


def test_show_marks_fields_no_block_of_the_stage_uses() -> None:
    out = run("show", str(SPACES_DIR / "tiny.yaml")).output
    row = next(line for line in out.splitlines() if "s0" in line)
    cells = [c.strip() for c in re.split(r"[│┃|]", row) if c.strip()]
    assert cells[-3:] == ["-", "0", "-"]  # expansion (inverted only), se ratio, growth (dense only)


def test_sample_prints_n_summaries_with_params_and_flops() -> None:
    result = run("sample", str(SPACES_DIR / "tiny.yaml"), "-n", "5", "--seed", "0", "--input", "1x28x28")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if re.match(r"[│|]\s*\d+\s*[│|]", line)]
    assert len(rows) == 5
    assert all(" ok " in row and re.search(r"\d", row) for row in rows)
    assert result.output == run("sample", str(SPACES_DIR / "tiny.yaml"), "-n", "5", "--seed", "0",
                                "--input", "1x28x28").output  # seeded


def test_sample_marks_infeasible_architectures_with_their_reason() -> None:
    result = run("sample", str(SPACES_DIR / "tiny.yaml"), "-n", "8", "--seed", "0", "--input", "1x2x2")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "infeasible: input size 2 is too small for 2 downsamplings" in text
    assert " ok " in text  # two-stage samples still fit


def test_sample_works_in_one_and_three_dimensions() -> None:
    for shape in ("1x40", "2x8x8x8"):
        result = run("sample", str(SPACES_DIR / "tiny.yaml"), "-n", "2", "--seed", "1", "--input", shape)
        assert result.exit_code == 0, result.output
        assert f"for input {shape}" in result.output


def test_a_space_refuses_an_input_of_a_dimensionality_it_does_not_allow() -> None:
    result = run("sample", str(SPACES_DIR / "mnist1d.yaml"), "--input", "1x28x28")
    assert result.exit_code == 2
    assert "input 1x28x28 is 2D but the space's field 'ndim' allows only [1]" in " ".join(result.output.split())


def test_bad_arguments_are_one_sentence_each(tmp_path: Path) -> None:
    bad_input = run("show", str(SPACES_DIR / "tiny.yaml"), "--input", "28by28")
    assert bad_input.exit_code == 2
    assert "input '28by28': give channels then 1-3 positive spatial sizes" in bad_input.output
    missing = run("show", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "nope.yaml: search space file not found." in missing.output
    (tmp_path / "bad.yaml").write_text("stage: {block: [plain, transformer]}\n")
    bad = run("sample", str(tmp_path / "bad.yaml"))
    assert bad.exit_code == 2 and "field 'stage.block': unknown block type 'transformer'" in bad.output
