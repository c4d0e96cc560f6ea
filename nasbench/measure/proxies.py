"""Zero-cost proxies: scores of an untrained network, on one batch, that predict its accuracy.

Sign convention: every proxy returns a float where **higher = predicted better**. A proxy whose
raw form is lower-is-better is negated and its docstring and ``sign_note`` say so (``grasp``;
``jacob_cov`` is defined as a negated sum). Baselines ``params`` and ``flops`` are raw counts:
bigger networks are predicted better.

The 13 proxies of NAS-Bench-Suite-Zero (NASLib) are all here: fisher, grasp, l2_norm, plain,
zen, epe_nas, jacov (registered as ``jacob_cov``), nwot (``naswot``), snip, synflow, grad_norm,
params, flops. ``ensemble`` is not a per-network proxy: it ranks a population of networks by the
mean of their per-proxy ranks (``rank_ensemble``), so it is computed where a population is scored
(``nasbench proxies``, the study pre-filter).

Each proxy is a pure function ``fn(model_or_factory, x, y) -> float``. It computes on a private
copy (a deep copy of the model, or a new model from the factory), so the caller's parameters,
gradients and train/eval mode are never touched. ``compute_proxies`` seeds torch before each
proxy, so a factory builds the same initial weights for every proxy and results repeat.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor, nn

from nasbench.core.registry import Registry
from nasbench.errors import UnknownName
from nasbench.measure.counts import count_flops, count_params

ModelOrFactory = nn.Module | Callable[[], nn.Module]
ProxyFn = Callable[[ModelOrFactory, Tensor, Tensor], float]

# Activations whose on/off pattern NASWOT reads. For all of them "output > 0" holds exactly
# when "input > 0", so the input's sign is the code, as for ReLU.
BINARY_CODE_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.SiLU, nn.GELU, nn.Hardswish)
JACOB_COV_K = 1e-5  # also EPE-NAS's k
ZEN_MIXUP = 0.01  # Zen-NAS's perturbation scale
GLOBAL_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)


@dataclass(frozen=True)
class Proxy:
    """A registered proxy: its function and a note on how its sign was fixed."""

    name: str
    fn: ProxyFn
    sign_note: str


PROXIES: Registry[Proxy] = Registry("proxy")


def register_proxy(name: str, sign_note: str) -> Callable[[ProxyFn], ProxyFn]:
    """Decorator registering ``fn`` under ``name``; a taken name raises ValueError."""

    def decorate(fn: ProxyFn) -> ProxyFn:
        PROXIES.register(name, Proxy(name, fn, sign_note))
        return fn

    return decorate


def get_proxy(name: str) -> Proxy:
    """The registered proxy ``name``; an unknown name raises UnknownName listing the valid ones."""
    return PROXIES.get(name)


# --- helpers ---------------------------------------------------------------------------------
def _as_model(source: ModelOrFactory) -> nn.Module:
    """The model itself, or a new one from the factory (for read-only use)."""
    model = source if isinstance(source, nn.Module) else source()
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module or a factory returning one, got {type(model)}")
    return model


def _working_copy(source: ModelOrFactory, x: Tensor) -> nn.Module:
    """A private model to compute on, on ``x``'s device, every parameter trainable, no gradients."""
    # A factory's model is already private; a caller's model is copied so it is never mutated.
    model = copy.deepcopy(source) if isinstance(source, nn.Module) else _as_model(source)
    model = model.to(x.device)
    for p in model.parameters():
        p.requires_grad_(True)
        p.grad = None
    return model


def _weighted_layers(model: nn.Module) -> list[nn.modules.conv._ConvNd | nn.Linear]:
    """Convolution and linear layers: the weights the pruning-based proxies score."""
    return [m for m in model.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]


def _weights_and_grads(model: nn.Module, objective: Tensor) -> list[tuple[Tensor, Tensor]]:
    """(weight, d objective / d weight) for each conv/linear layer; unused weights get zeros."""
    weights = [m.weight for m in _weighted_layers(model)]
    grads = torch.autograd.grad(objective, weights, allow_unused=True)
    return [(w.detach(), torch.zeros_like(w) if g is None else g) for w, g in zip(weights, grads)]


def _cross_entropy_grads(source: ModelOrFactory, x: Tensor, y: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Weights and their cross-entropy gradients on the batch, model in train mode."""
    model = _working_copy(source, x).train()
    return _weights_and_grads(model, F.cross_entropy(model(x), y))


def _input_jacobians(source: ModelOrFactory, x: Tensor) -> np.ndarray:
    """Per-sample gradients of the summed outputs with respect to the input, train mode, flattened."""
    model = _working_copy(source, x).train()
    inputs = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(inputs).sum(), inputs)
    return grad.flatten(1).double().cpu().numpy()


def check_batch(x: Tensor, y: Tensor) -> None:
    """Raise ValueError unless ``x`` is a batch of at least 2 samples and ``y`` its labels."""
    if x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(f"x must be a batch of at least 2 samples, got shape {tuple(x.shape)}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},) to match x, got {tuple(y.shape)}")


# --- proxies ---------------------------------------------------------------------------------
@register_proxy("synflow", "raw; higher is better")
def synflow(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """SynFlow (Tanaka et al., 2020), data-free. Higher = predicted better (raw form).

    On a float64 copy in eval mode (batch norm uses its running statistics, as in the reference
    code), every parameter and buffer is replaced by its absolute value and an input of ones of
    ``x``'s shape is fed. With R the sum of the outputs, the score is the sum of
    ``theta * dR/dtheta`` over the conv/linear weights (the prunable weights the references score).
    """
    model = _working_copy(source, x).double().eval()
    with torch.no_grad():
        for t in chain(model.parameters(), model.buffers()):
            if t.is_floating_point():
                t.abs_()
    out = model(torch.ones_like(x, dtype=torch.float64))
    pairs = _weights_and_grads(model, out.sum())
    return float(sum((w * g).sum() for w, g in pairs))


@register_proxy("naswot", "raw log-determinant; higher is better")
def naswot(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """NASWOT (Mellor et al., 2021). Higher = predicted better (raw form).

    Each ReLU-family activation (ReLU, ReLU6, LeakyReLU; SiLU, GELU, Hardswish by the sign of
    their input) gives every sample a binary code; K = N_a - Hamming distance between the
    codes, summed over activations; the score is log|det K| from slogdet (``-inf`` when K is
    singular, i.e. two samples share a code). Model in train mode, as in the reference.
    """
    model = _working_copy(source, x).train()
    n = x.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def record(module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        # A pre-hook sees the input before an in-place activation overwrites it.
        code = (inputs[0].detach() > 0).flatten(1).double()
        kernel.add_(code @ code.T + (1 - code) @ (1 - code).T)

    acts = [m for m in model.modules() if isinstance(m, BINARY_CODE_ACTIVATIONS)]
    handles = [m.register_forward_pre_hook(record) for m in acts]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if sign > 0 else -math.inf


@register_proxy("snip", "raw saliency; higher is better")
def snip(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """SNIP (Lee et al., 2019). Higher = predicted better (raw form).

    Sum over conv/linear weights of ``|dL/dw * w|``, L the cross-entropy on the batch, train mode.
    """
    return float(sum((g * w).abs().sum() for w, g in _cross_entropy_grads(source, x, y)))


@register_proxy("grad_norm", "raw gradient norm; higher is better")
def grad_norm(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """Gradient norm (Abdelfattah et al., 2021). Higher = predicted better (raw form).

    Sum over conv/linear layers of the L2 norm of the weight's cross-entropy gradient, train mode.
    """
    return float(sum(g.norm() for _, g in _cross_entropy_grads(source, x, y)))


@register_proxy("jacob_cov", "defined as a negated sum; higher is better")
def jacob_cov(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """Jacobian covariance (Mellor et al., 2020, arXiv v1). Higher = predicted better as defined.

    The correlation matrix of the per-sample input gradients of the summed outputs (train mode,
    as in the reference) has eigenvalues v; score = ``-sum(log(v + k) + 1/(v + k))``, k = 1e-5.
    The definition already carries the minus sign: it peaks when the samples' Jacobians are
    uncorrelated. NaN when a Jacobian is constant (its correlation is undefined).
    """
    jac = _input_jacobians(source, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jac)
    if not np.all(np.isfinite(corr)):
        return math.nan
    v = np.linalg.eigvalsh(corr) + JACOB_COV_K
    return float(-np.sum(np.log(v) + 1.0 / v))


@register_proxy("plain", "raw; higher is better")
def plain(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """Plain (Mozer & Smolensky, 1989, as in Abdelfattah et al., 2021). Higher = predicted better (raw).

    Sum over conv/linear weights of ``dL/dw * w`` (signed, unlike SNIP), cross-entropy, train mode.
    """
    return float(sum((g * w).sum() for w, g in _cross_entropy_grads(source, x, y)))


@register_proxy("l2_norm", "raw; higher is better")
def l2_norm(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """L2 norm of the initial weights (Abdelfattah et al., 2021). Higher = predicted better (raw).

    Sum over conv/linear layers of the L2 norm of the weight; data-free.
    """
    model = _as_model(source)
    with torch.no_grad():
        return float(sum(m.weight.norm() for m in _weighted_layers(model)))


@register_proxy("grasp", "negated (-sum theta * Hg); higher is better")
def grasp(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """GraSP (Wang et al., 2020), as a network score. Higher = predicted better (negated).

    With g the cross-entropy gradient of the conv/linear weights and H the Hessian, the score is
    ``-sum(w * Hg)`` (Hg by a second backward pass through ``g . stop_grad(g)``), train mode. The
    minus sign is NAS-Bench-Suite-Zero's: un-negated, the sum ranks networks backwards.
    """
    model = _working_copy(source, x).train()
    weights = [m.weight for m in _weighted_layers(model)]
    first = torch.autograd.grad(F.cross_entropy(model(x), y), weights, allow_unused=True)
    fixed = [torch.zeros_like(w) if g is None else g.detach() for w, g in zip(weights, first)]
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), weights, create_graph=True, allow_unused=True)
    z = sum((f * g).sum() for f, g in zip(fixed, grads) if g is not None)
    if not isinstance(z, Tensor) or not z.requires_grad:
        return 0.0
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    return float(-sum((w.detach() * h).sum() for w, h in zip(weights, hg) if h is not None))


@register_proxy("fisher", "raw; higher is better")
def fisher(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """Fisher (Theis et al., 2018; Turner et al., 2020). Higher = predicted better (raw form).

    For the output ``a`` of every conv/linear layer and its cross-entropy gradient ``g`` (train
    mode), per sample and channel ``s = sum over positions of a * g``; the score is the sum over
    layers and channels of ``0.5 * mean over the batch of s**2``.
    """
    model = _working_copy(source, x).train()
    outputs: list[Tensor] = []

    def keep(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        output.retain_grad()
        outputs.append(output)

    handles = [m.register_forward_hook(keep) for m in _weighted_layers(model)]
    try:
        F.cross_entropy(model(x), y).backward()
    finally:
        for h in handles:
            h.remove()
    total = 0.0
    for a in outputs:
        if a.grad is None:
            continue
        s = (a * a.grad).flatten(2).sum(-1) if a.ndim > 2 else a * a.grad
        total += float(0.5 * s.detach().pow(2).mean(0).sum())
    return total


@register_proxy("zen", "raw log-expressivity; higher is better")
def zen(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """Zen-score (Lin et al., 2021). Higher = predicted better (raw form).

    Data-free, train-mode batch norm: for Gaussian inputs ``z`` and ``z + 0.01 * e`` of ``x``'s
    shape, the mean over the batch of the summed absolute difference of the feature maps before
    global pooling, logged, plus the sum over batch-norm layers of ``log sqrt(mean running_var)``
    (the running statistics after the two forward passes).
    """
    model = _working_copy(source, x).train()
    pools = [m for m in model.modules() if isinstance(m, GLOBAL_POOLS)]
    features: list[Tensor] = []

    def keep(module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        features.append(inputs[0])

    handle = pools[-1].register_forward_pre_hook(keep) if pools else None
    with torch.no_grad():
        z1, z2 = torch.randn_like(x), torch.randn_like(x)
        out1, out2 = model(z1), model(z1 + ZEN_MIXUP * z2)
        if handle is not None:
            handle.remove()
            out1, out2 = features[0], features[1]
        diff = (out1 - out2).abs().flatten(1).sum(1).mean()
        variances = [m.running_var for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        log_bn = sum(float(torch.log(torch.sqrt(torch.mean(v)))) for v in variances if v is not None)
    return float(torch.log(diff)) + log_bn


@register_proxy("epe_nas", "raw; higher is better")
def epe_nas(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """EPE-NAS (Lopes et al., 2021). Higher = predicted better (raw form).

    The input Jacobians of the summed outputs (train mode) are grouped by label; per class with
    at least two samples, ``sum(log(|corr| + 1e-5))`` over the class's Jacobian correlation matrix;
    the score is the sum over classes of its absolute value (the paper's form for <= 100 classes).
    NaN when a class's Jacobians are constant.
    """
    jac = _input_jacobians(source, x)
    labels = y.detach().cpu().numpy()
    total = 0.0
    for c in np.unique(labels):
        rows = jac[labels == c]
        if len(rows) < 2:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(rows)
        if not np.all(np.isfinite(corr)):
            return math.nan
        total += abs(float(np.sum(np.log(np.abs(corr) + JACOB_COV_K))))
    return total


@register_proxy("params", "raw count; bigger is predicted better")
def params(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """Baseline: number of parameters. Higher = predicted better (raw count)."""
    return float(count_params(_as_model(source)))


@register_proxy("flops", "raw count; bigger is predicted better")
def flops(source: ModelOrFactory, x: Tensor, y: Tensor) -> float:
    """Baseline: FLOPs of one sample's forward pass (shape from ``x``). Higher = predicted better."""
    return float(count_flops(_as_model(source), (1, *x.shape[1:])))


# --- ensemble --------------------------------------------------------------------------------
ENSEMBLE = "ensemble"
ENSEMBLE_NOTE = "mean of the members' ranks (rank 1 = lowest score); higher is better"


def proxy_choices() -> list[str]:
    """Every name a proxy option accepts: the registered proxies and ``ensemble``."""
    return [*PROXIES, ENSEMBLE]


def check_proxy_names(names: Iterable[str], field: str | None = None) -> list[str]:
    """``names`` if each is a proxy or ``ensemble``; else UnknownName (one line, the valid names)."""
    chosen = list(names)
    for name in chosen:
        if name != ENSEMBLE and name not in PROXIES:
            raise UnknownName("proxy", name, proxy_choices(), field=field)
    return chosen


def sign_note(name: str) -> str:
    """How ``name``'s sign was fixed (every score reads higher = predicted better)."""
    return ENSEMBLE_NOTE if name == ENSEMBLE else get_proxy(name).sign_note


def ensemble_members(names: Iterable[str] | None = None) -> list[str]:
    """The proxies an ensemble ranks by: ``names`` without ``ensemble``, or all registered ones."""
    members = [n for n in (names or []) if n != ENSEMBLE]
    return check_proxy_names(members) if members else list(PROXIES)


def rank_ensemble(scores: Mapping[str, Sequence[float] | np.ndarray]) -> np.ndarray:
    """Each network's mean rank over the proxies in ``scores`` (name -> one score per network).

    Per proxy the networks are ranked from 1 (lowest score) to n, ties sharing their mean rank;
    a NaN or infinite score ranks with the lowest (NaN: the proxy could not score the network,
    -inf: e.g. NASWOT's singular kernel). Higher = predicted better, like every proxy.
    """
    if not scores:
        raise ValueError("an ensemble needs at least one proxy")
    columns = [np.asarray(v, dtype=float) for v in scores.values()]
    if len({c.shape for c in columns}) != 1 or columns[0].ndim != 1:
        raise ValueError("every proxy needs one score per network")
    ranks = [stats.rankdata(np.where(np.isfinite(c) & (c != np.inf), c, -np.inf), method="average") for c in columns]
    return np.mean(ranks, axis=0)


# --- driver ----------------------------------------------------------------------------------
def compute_proxies(
    model: ModelOrFactory, x: Tensor, y: Tensor, names: Iterable[str] | None = None, seed: int = 0
) -> dict[str, float]:
    """Score ``model`` (or a factory's model) with the named proxies (default: all registered).

    Torch is seeded with ``seed`` before each proxy inside a forked RNG, so results repeat and
    the caller's random state is left as it was.
    """
    check_batch(x, y)
    chosen = [get_proxy(n) for n in (PROXIES if names is None else names)]  # fail before work
    devices = [x.device.index or 0] if x.is_cuda else []
    scores: dict[str, float] = {}
    for proxy in chosen:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            scores[proxy.name] = proxy.fn(model, x, y)
    return scores
