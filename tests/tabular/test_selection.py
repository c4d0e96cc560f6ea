"""Which architectures a benchmark trains: enumeration of small spaces, seeded uniform order."""

from __future__ import annotations

from itertools import islice

from nasbench.space.spec import load_space, parse_space
from nasbench.tabular.selection import candidates, enumerate_space
from nasbench.tabular.table import SHIPPED_DIR
from tests.tabular.synthetic import FLAT_SPACE, TWO_DEPTH_SPACE

CONDITIONAL = {
    "name": "conditional", "ndim": [1], "num_stages": [1, 2],
    "stage": {"block": ["plain", "inverted", "residual"], "expansion": [2, 4], "se": [0, 0.25],
              "kernel": [3, 5], "downsample": ["stride"]},
}


def test_enumeration_finds_every_architecture_once() -> None:
    for space in (FLAT_SPACE, TWO_DEPTH_SPACE, CONDITIONAL):
        spec = parse_space(space)
        archs = enumerate_space(spec)
        assert archs is not None
        digests = [a.digest() for a in archs]
        assert len(set(digests)) == len(digests) == spec.cardinality()


def test_the_shipped_space_has_80_architectures() -> None:
    spec = load_space(SHIPPED_DIR / "mnist1d_tiny_space.yaml")
    assert len(enumerate_space(spec)) == spec.cardinality() == 80


def test_a_space_too_large_to_enumerate_is_sampled_without_repeats() -> None:
    spec = parse_space(CONDITIONAL)
    assert enumerate_space(spec, limit=10) is None
    order, cardinality = candidates(spec, seed=0, limit=10)
    drawn = [a.digest() for a in islice(order, 20)]
    assert cardinality is None and len(set(drawn)) == 20


def test_selection_order_is_seeded_and_a_permutation() -> None:
    spec = parse_space(CONDITIONAL)
    first, size = candidates(spec, seed=3)
    again, _ = candidates(spec, seed=3)
    other, _ = candidates(spec, seed=4)
    a, b, c = ([x.digest() for x in it] for it in (first, again, other))
    assert a == b and a != c
    assert sorted(a) == sorted(c) and len(a) == size
