"""Zero-cost proxies: hand-checked values, invariances, purity, determinism, sign convention."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench.errors import ConfigError
from nasbench.measure.proxies import (
    JACOB_COV_K,
    PROXIES,
    compute_proxies,
    get_proxy,
    grad_norm,
    jacob_cov,
    naswot,
    register_proxy,
    snip,
    synflow,
)
from nasbench.nn.builder import build_network
from nasbench.space.architecture import BLOCK_TYPES, Architecture, Stage

DATA_PROXIES = ("synflow", "naswot", "snip", "grad_norm", "jacob_cov")


def small_arch(block: str = "residual", width: int = 16, activation: str = "relu",
               dropout: float = 0.0) -> Architecture:
    return Architecture(
        stages=(Stage(block, 1, width), Stage(block, 1, 2 * width, downsample="stride")),
        stem_width=width, activation=activation, head_dropout=dropout,
    )


def batch(shape: tuple[int, ...] = (8, 3, 16, 16), classes: int = 10,
          seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), torch.randint(0, classes, (shape[0],), generator=g)


def linear(weight: list[list[float]]) -> nn.Linear:
    w = torch.tensor(weight, dtype=torch.float32)
    layer = nn.Linear(w.shape[1], w.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(w)
    return layer


# --- hand-checked values ---------------------------------------------------------------------
def test_synflow_matches_hand_computation_on_two_layer_net() -> None:
    w1 = [[1.0, -2.0], [3.0, 0.5]]
    w2 = [[-1.0, 2.0]]
    model = nn.Sequential(linear(w1), linear(w2))
    x = torch.randn(3, 2)  # only its shape matters: synflow feeds ones
    a1, a2 = np.abs(np.array(w1)), np.abs(np.array(w2))[0]
    hidden = a1.sum(axis=1)  # |W1| @ ones
    # R = B * |W2| @ |W1| @ 1; dR/d|W2|_j = B * hidden_j; dR/d|W1|_ij = B * |W2|_i * 1.
    expected = 3 * ((a2 * hidden).sum() + (a2[:, None] * a1).sum())
    assert expected == 60.0
    assert synflow(model, x, torch.zeros(3, dtype=torch.long)) == expected


def test_naswot_matches_hand_computation() -> None:
    model = nn.Sequential(linear([[1.0, 0.0], [0.0, 1.0]]), nn.ReLU(), linear([[1.0, 1.0]]))
    x = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    # Codes 10, 01, 11; K = 2 - Hamming = [[2,0,1],[0,2,1],[1,1,2]], det = 2*3 - 0 + 1*(0-2) = 4.
    assert naswot(model, x, torch.zeros(3, dtype=torch.long)) == pytest.approx(math.log(4.0))


def test_naswot_is_minus_inf_when_two_samples_share_a_code() -> None:
    model = nn.Sequential(linear([[1.0, 0.0], [0.0, 1.0]]), nn.ReLU())
    x = torch.tensor([[1.0, -1.0], [2.0, -3.0], [-1.0, 1.0]])
    assert naswot(model, x, torch.zeros(3, dtype=torch.long)) == -math.inf


def test_jacob_cov_matches_hand_computation_on_linear_net() -> None:
    # A linear net's input gradient is the same row (1, 2, 3) for every sample: the correlation
    # matrix is all ones, eigenvalues n, 0, ..., 0.
    model = nn.Sequential(linear([[1.0, 2.0, 3.0]]))
    n, k = 4, JACOB_COV_K
    expected = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    score = jacob_cov(model, torch.randn(n, 3), torch.zeros(n, dtype=torch.long))
    assert score == pytest.approx(expected, rel=1e-9)


def test_snip_and_grad_norm_match_cross_entropy_gradient_by_hand() -> None:
    w = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    x = np.array([[1.0, 2.0, -1.0], [0.0, -1.0, 3.0], [2.0, 0.5, 0.5], [-1.0, 1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    logits = x @ w.T
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    grad = (p - np.eye(2)[y]).T @ x / len(y)  # d mean-CE / dW
    model = nn.Sequential(linear(w.tolist()))
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    assert snip(model, xt, yt) == pytest.approx(np.abs(grad * w).sum(), rel=1e-5)
    assert grad_norm(model, xt, yt) == pytest.approx(np.linalg.norm(grad), rel=1e-5)


# --- invariances and validity on built networks ----------------------------------------------
@pytest.mark.parametrize("name", DATA_PROXIES)
def test_proxy_is_invariant_to_sample_order(name: str) -> None:
    torch.manual_seed(0)
    model = build_network(small_arch("residual"), 3, 10, 2)
    x, y = batch()
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))
    plain = compute_proxies(model, x, y, names=[name])[name]
    shuffled = compute_proxies(model, x[perm], y[perm], names=[name])[name]
    assert shuffled == pytest.approx(plain, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("block", BLOCK_TYPES)
def test_every_proxy_is_finite_on_each_2d_block_type(block: str) -> None:
    torch.manual_seed(0)
    model = build_network(small_arch(block), 3, 10, 2)
    scores = compute_proxies(model, *batch())
    assert set(scores) == set(PROXIES)
    for name, value in scores.items():
        assert isinstance(value, float) and math.isfinite(value), (block, name, value)


@pytest.mark.parametrize("activation", ["silu", "gelu", "hswish"])
def test_every_proxy_is_finite_on_1d_network(activation: str) -> None:
    torch.manual_seed(0)
    model = build_network(small_arch("inverted", activation=activation), 2, 5, ndim=1)
    scores = compute_proxies(model, *batch((12, 2, 32), classes=5))
    for name, value in scores.items():
        assert math.isfinite(value), (activation, name, value)


# --- purity and determinism ------------------------------------------------------------------
@pytest.mark.parametrize("train_mode", [True, False])
def test_callers_model_and_batch_are_unchanged(train_mode: bool) -> None:
    torch.manual_seed(0)
    model = build_network(small_arch("bottleneck"), 3, 10, 2).train(train_mode)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    compute_proxies(model, x, y)
    after = model.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert all(m.training == train_mode for m in model.modules())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert torch.equal(x, x0) and torch.equal(y, y0) and not x.requires_grad


def test_proxies_repeat_with_the_same_seed_and_leave_global_rng_alone() -> None:
    # Dropout in train mode makes the data proxies random: only the seeding makes them repeat.
    x, y = batch()
    model = build_network(small_arch("plain", dropout=0.5), 3, 10, 2)
    rng = torch.random.get_rng_state()
    first = compute_proxies(model, x, y, seed=3)
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert compute_proxies(model, x, y, seed=3) == first


def test_factory_is_built_from_the_seed() -> None:
    x, y = batch()

    def factory() -> nn.Module:
        return build_network(small_arch("residual"), 3, 10, 2)

    a = compute_proxies(factory, x, y, names=["synflow", "snip"], seed=0)
    assert compute_proxies(factory, x, y, names=["synflow", "snip"], seed=0) == a
    b = compute_proxies(factory, x, y, names=["synflow", "snip"], seed=1)
    assert b["synflow"] != a["synflow"] and b["snip"] != a["snip"]


# --- sign convention and registry ------------------------------------------------------------
def test_baselines_are_larger_for_a_wider_net() -> None:
    x, y = batch()
    narrow = compute_proxies(build_network(small_arch(width=8), 3, 10, 2), x, y,
                             names=["params", "flops", "synflow"])
    wide = compute_proxies(build_network(small_arch(width=32), 3, 10, 2), x, y,
                           names=["params", "flops", "synflow"])
    assert all(wide[n] > narrow[n] for n in narrow)


def test_every_proxy_documents_higher_is_better() -> None:
    for proxy in PROXIES.values():
        assert proxy.sign_note
        assert "higher = predicted better" in (proxy.fn.__doc__ or "").lower(), proxy.name


def test_registry_refuses_duplicates_and_names_valid_proxies() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_proxy("synflow", "raw")(synflow)
    with pytest.raises(ConfigError, match="naswot") as err:
        get_proxy("synflw")
    assert "synflw" in str(err.value)
    with pytest.raises(ConfigError):
        compute_proxies(nn.Linear(2, 2), torch.randn(4, 2), torch.zeros(4, dtype=torch.long),
                        names=["snip", "nope"])


def test_bad_batch_is_refused() -> None:
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="at least 2"):
        compute_proxies(model, torch.randn(1, 2), torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="y must"):
        compute_proxies(model, torch.randn(4, 2), torch.zeros(3, dtype=torch.long))
