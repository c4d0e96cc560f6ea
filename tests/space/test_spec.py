"""The space file format: what the shipped spaces hold, exact cardinality, and bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench.errors import ConfigError
from nasbench.space.spec import load_space, parse_space
from tests.space.helpers import ROOT, SPACES, every_architecture, shipped


def test_every_space_the_issue_asks_for_is_shipped() -> None:
    assert {"tiny", "mobile", "resnet_like", "full", "mnist1d"} <= set(SPACES)


@pytest.mark.parametrize("name", SPACES)
def test_each_space_file_documents_itself_and_states_its_cardinality(name: str) -> None:
    text = (ROOT / "search_spaces" / f"{name}.yaml").read_text()
    header = text[:text.index("\nname:")]
    assert all(line.startswith("#") for line in header.splitlines())
    assert len(header.splitlines()) >= 4
    stated = re.search(r"Cardinality: ([\d,]+) architectures", header)
    assert stated, f"{name}.yaml's header does not state its cardinality"
    assert int(stated.group(1).replace(",", "")) == shipped(name).cardinality()


def test_tiny_keeps_its_meaning() -> None:
    spec = shipped("tiny")
    assert spec.num_stages == [2, 3] and spec.stage.block == ["plain", "residual"]
    assert [spec.stage_choices(i).width for i in range(3)] == [[16, 24], [32, 48], [64, 96]]
    assert spec.cardinality() == 4352


def test_full_covers_every_dimension_and_block_type() -> None:
    spec = shipped("full")
    assert spec.ndim == [1, 2, 3]
    assert set(spec.stage.block) == {"plain", "residual", "bottleneck", "inverted", "se", "dense"}
    assert set(spec.activation) == {"relu", "relu6", "silu", "gelu", "hswish"}
    assert set(spec.norm) == {"batch", "group"}
    assert set(spec.stage.downsample) == {"none", "stride", "pool"}
    for field in ("depth", "kernel", "dilation", "expansion", "se", "growth"):
        assert len(getattr(spec.stage, field)) > 1, field
    for field in (spec.resolution, spec.width_mult, spec.num_stages, spec.stem.width, spec.stem.kernel,
                  spec.stem.stride, spec.head.width, spec.head.dropout):
        assert len(field) > 1


def test_mnist1d_is_one_dimensional_only() -> None:
    assert shipped("mnist1d").ndim == [1]


@pytest.mark.parametrize("space", [
    {"num_stages": [1, 2], "stage": {"block": ["plain", "inverted", "dense", "se", "residual"],
                                     "expansion": [3, 6], "growth": [8, 12], "se": [0, 0.25, 0.5],
                                     "downsample": ["stride", "pool", "none"]}},
    {"num_stages": [1, 2], "shared": ["expansion", "se", "growth"],
     "stage": {"block": ["plain", "inverted", "dense", "se", "residual"], "expansion": [3, 6],
               "growth": [8, 12], "se": [0, 0.25], "downsample": ["stride", "pool"]}},
    {"num_stages": [2, 3], "shared": ["block", "se", "width"],
     "stage": {"block": ["plain", "se", "residual"], "se": [0, 0.25], "width": [16, 20, 32]}},
    {"width_mult": [0.5, 1.0, 0.75], "num_stages": [1, 2], "stem": {"width": [16, 32, 12]},
     "stage": {"width": [16, 32, 8]}},
    {"width_mult": [0.5, 1.0], "shared": ["width", "block"], "num_stages": [1, 2],
     "stage": {"block": ["dense", "plain"], "width": [16, 32], "downsample": ["stride", "pool"],
               "growth": [4, 8]}},
])
def test_cardinality_counts_each_distinct_network_once(space: dict) -> None:
    spec = parse_space({"name": "t", **space})
    assert spec.cardinality() == len({a.digest() for a in every_architecture(spec)})


STAGE_VALUES = {
    "block": ["plain", "residual", "bottleneck", "inverted", "se", "dense"],
    "depth": [1, 2], "width": [8, 12, 16], "kernel": [1, 3, 5], "dilation": [1, 2],
    "downsample": ["none", "stride", "pool"], "expansion": [2, 4], "se": [0.0, 0.25, 0.5], "growth": [4, 8],
}


@st.composite
def small_spaces(draw: st.DrawFn) -> dict:
    """Spaces of a few hundred architectures at most, every field possibly chosen or shared."""
    def subset(values: list) -> list:
        return draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))

    stage = {f: subset(v) for f, v in STAGE_VALUES.items()}
    shared = draw(st.lists(st.sampled_from(sorted(STAGE_VALUES)), max_size=3, unique=True))
    overrides = [{"width": subset([8, 16, 24])} if "width" not in shared else {}
                 for _ in range(draw(st.integers(0, 1)))]
    return {"name": "drawn", "num_stages": subset([1, 2]), "width_mult": subset([0.5, 0.75, 1.0]),
            "stem": {"width": subset([8, 16, 24])}, "activation": subset(["relu", "swish", "gelu"]),
            "stage": stage, "shared": shared, "stages": overrides}


@settings(max_examples=40, deadline=None)
@given(small_spaces())
def test_cardinality_matches_enumeration_on_drawn_spaces(space: dict) -> None:
    try:
        spec = parse_space(space)
    except ConfigError as e:
        assert "no choices" in str(e)  # drawn with a single value everywhere
        return
    if spec.cardinality() > 3000:
        return  # too many to enumerate in a test; the drawn sizes rarely get here
    assert spec.cardinality() == len({a.digest() for a in every_architecture(spec)})


# --- bad input: one sentence naming the file and the field -------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,expect", [
    ("stage: {block: [plain, transformer]}\n",
     "field 'stage.block': unknown block type 'transformer'; choose from plain, residual"),
    ("stage: {width: [-16, 32]}\n", "field 'stage.width': must be positive, got [-16, 32]"),
    ("stages:\n  - {width: [16]}\n  - {width: [0]}\nnum_stages: [2, 3]\n",
     "field 'stages[1].width': must be positive"),
    ("stage: {kernel: [2, 3]}\n", "field 'stage.kernel': kernel sizes must be odd and positive"),
    ("stem: {kernel: [4]}\nnum_stages: [2, 3]\n", "field 'stem.kernel': kernel sizes must be odd"),
    ("num_stages: 3\nstage: {block: plain, depth: 2}\n", "the space has no choices"),
    ("num_stages: [2, 3]\nstage: {kernal: [3, 5]}\n", "field 'stage.kernal': unknown field"),
    ("num_stages: [2, 3]\nheads: {dropout: 0.1}\n", "field 'heads': unknown field"),
    ("num_stages: [2, 3]\nactivation: [relu, tanh]\n", "field 'activation': unknown activation 'tanh'"),
    ("num_stages: [2, 3]\nnorm: [layer]\n", "field 'norm': unknown normalisation 'layer'"),
    ("num_stages: [2, 3]\nactivation: [silu, swish]\n", "field 'activation': lists one activation under two names"),
    ("num_stages: [2, 3]\nndim: [2, 4]\n", "field 'ndim': ndim must be a list of 1, 2 and/or 3"),
    ("stage: {kernel: [3, 3, 5]}\n", "field 'stage.kernel': lists a value more than once"),
    ("shared: [kernel]\nstage: {kernel: [3, 5]}\nstages:\n  - {kernel: [7]}\n",
     "stages[0].kernel overrides a field declared shared"),
    ("num_stages: [2, 3]\nhead: {dropout: [0.0, 1.5]}\n", "field 'head.dropout': dropout must lie in [0, 1)"),
    ("stage: {block: [plain, residual]\n  depth: [1, 2\n", "not valid YAML (line"),
    ("- just\n- a list\n", "a search space file must be a YAML mapping"),
])
def test_a_bad_space_file_is_one_sentence_naming_the_file_and_field(tmp_path: Path, text: str, expect: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_space(path)
    message = str(e.value)
    assert message.startswith(f"{path}: ")
    assert expect in message
    assert "\n" not in message and message.endswith(".")
    assert message.count(". ") == 0  # one sentence


def test_a_missing_space_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: search space file not found"):
        load_space(tmp_path / "nope.yaml")


def test_a_one_dimensional_space_refuses_a_two_dimensional_data_set(tmp_path: Path) -> None:
    from nasbench.search.runner import prepare

    study = tmp_path / "study.yaml"
    study.write_text(f"name: s\nspace: {ROOT / 'search_spaces' / 'mnist1d.yaml'}\n"
                     "data: {name: digits}\nbudget: {trials: 1}\n")
    with pytest.raises(ConfigError) as e:
        prepare(str(study))
    message = str(e.value)
    assert message.startswith(f"{study}: ")
    assert "digits is 2D but space mnist1d allows only ndim [1]" in message
    assert not (tmp_path / "r.db").exists()
