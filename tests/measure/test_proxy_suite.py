"""NAS-Bench-Suite-Zero's proxies on real built networks, their signs, and the rank ensemble."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nasbench.errors import ConfigError, UnknownName
from nasbench.measure.proxies import (
    ENSEMBLE,
    PROXIES,
    check_proxy_names,
    compute_proxies,
    ensemble_members,
    rank_ensemble,
    sign_note,
)
from nasbench.nn.builder import build_network
from nasbench.search.config import load_study
from nasbench.search.prefilter import prefilter_params
from nasbench.space.architecture import Architecture, Stage
from nasbench.tabular.proxy_eval import benchmark_target, score_proxies
from tests.search.helpers import quick_study

SUITE_ZERO = ("fisher", "grasp", "l2_norm", "plain", "zen", "epe_nas", "jacob_cov", "naswot", "snip", "synflow",
              "grad_norm", "params", "flops")


def arch(width: int = 8, block: str = "residual") -> Architecture:
    return Architecture(stages=(Stage(block, 1, width), Stage(block, 1, 2 * width, downsample="stride")),
                        stem_width=width)


def labelled_batch(shape: tuple[int, ...], classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(shape, generator=g), torch.arange(shape[0]) % classes  # every class twice or more


def test_all_thirteen_suite_zero_proxies_are_registered_with_a_sign_note() -> None:
    assert set(SUITE_ZERO) <= set(PROXIES)
    for name in [*SUITE_ZERO, ENSEMBLE]:
        assert "higher is better" in sign_note(name) or "bigger is predicted better" in sign_note(name)


@pytest.mark.parametrize(("ndim", "shape"), [(1, (16, 1, 40)), (2, (16, 3, 12, 12))])
@pytest.mark.parametrize("block", ["plain", "residual"])
def test_every_proxy_scores_a_built_network_finitely(ndim: int, shape: tuple[int, ...], block: str) -> None:
    x, y = labelled_batch(shape)
    scores = compute_proxies(lambda: build_network(arch(block=block), shape[1], 4, ndim), x, y)
    assert set(scores) == set(PROXIES)
    bad = {k: v for k, v in scores.items() if not math.isfinite(v)}
    assert not bad, bad


@pytest.mark.parametrize("name", ["params", "flops", "l2_norm", "synflow"])
def test_size_proxies_rank_a_wider_network_higher(name: str) -> None:
    # Known property: more (and, at initialisation, larger-total-norm) weights in every layer.
    x, y = labelled_batch((16, 1, 40))
    narrow = compute_proxies(lambda: build_network(arch(8), 1, 4, 1), x, y, [name])[name]
    wide = compute_proxies(lambda: build_network(arch(32), 1, 4, 1), x, y, [name])[name]
    assert wide > narrow


def test_ensemble_is_the_mean_of_per_proxy_ranks() -> None:
    scores = {"a": [0.1, 0.3, 0.2], "b": [5.0, 4.0, 6.0], "c": [1.0, 1.0, -math.inf]}
    # ranks a: 1 3 2; b: 2 1 3; c (tie at the top, -inf lowest): 2.5 2.5 1
    np.testing.assert_allclose(rank_ensemble(scores), [(1 + 2 + 2.5) / 3, (3 + 1 + 2.5) / 3, (2 + 3 + 1) / 3])
    # NaN (the proxy could not score it) ranks with the lowest
    np.testing.assert_allclose(rank_ensemble({"a": [math.nan, 2.0, 1.0]}), [1, 3, 2])
    with pytest.raises(ValueError, match="one score per network"):
        rank_ensemble({"a": [1.0, 2.0], "b": [1.0]})


def test_ensemble_members_default_to_every_proxy_and_subsets_are_kept() -> None:
    assert ensemble_members([ENSEMBLE]) == list(PROXIES)
    assert ensemble_members(["synflow", ENSEMBLE, "naswot"]) == ["synflow", "naswot"]


def test_a_bad_proxy_name_is_one_line_listing_the_valid_ones() -> None:
    with pytest.raises(UnknownName) as e:
        check_proxy_names(["synflow", "zenn"], field="--proxies")
    text = str(e.value)
    assert "\n" not in text and "'zenn'" in text and "zen" in text and ENSEMBLE in text


def test_benchmark_proxy_evaluation_reports_the_ensemble() -> None:
    result = score_proxies(benchmark_target("mnist1d_tiny"), ["synflow", "naswot", ENSEMBLE], n=12, batch_size=16)
    row = result.correlations.set_index("proxy")
    assert list(row.index) == ["synflow", "naswot", ENSEMBLE]
    expected = rank_ensemble({p: result.scores[p].to_numpy() for p in ("synflow", "naswot")})
    np.testing.assert_allclose(result.scores[ENSEMBLE], expected)
    assert -1 <= row.loc[ENSEMBLE, "tau"] <= 1


def _prefiltered(tmp_path, name: str, prefilter: str) -> list[dict]:
    loaded = load_study(str(quick_study(tmp_path, name, prefilter=prefilter)))
    return prefilter_params(loaded.config, loaded.space, loaded.config.data.load())


def test_the_prefilter_accepts_the_ensemble_and_ranks_by_it(tmp_path) -> None:
    chosen = _prefiltered(tmp_path, "ens", "{proxy: ensemble, members: [synflow, params], sample: 8, keep: 3}")
    assert 1 <= len(chosen) <= 3
    # An ensemble of one proxy ranks exactly as that proxy does (ranks keep the order).
    alone = _prefiltered(tmp_path, "one", "{proxy: ensemble, members: [params], sample: 8, keep: 3}")
    assert alone == _prefiltered(tmp_path, "params", "{proxy: params, sample: 8, keep: 3}")
    bad = quick_study(tmp_path, "bad", prefilter="{proxy: ensemble, members: [synflow, magic], sample: 8, keep: 3}")
    with pytest.raises(ConfigError, match="unknown ensemble member 'magic'") as e:
        load_study(str(bad))
    assert "\n" not in str(e.value)
