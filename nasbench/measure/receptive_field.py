"""Theoretical receptive field of a built network, exact for every layer on the longest path.

The network is traced with ``torch.fx`` and run once on the ``meta`` device (no arithmetic), and
each node carries a field: per spatial dimension the receptive field ``r`` and the jump ``j``
(the input distance between two adjacent positions of the node's feature map). A conv or pool
with kernel ``k``, dilation ``d`` and stride ``s`` gives ``r + (k + (k-1)(d-1) - 1) * j`` and
``j * s``; padding does not matter. Where branches meet (add, mul, cat) the field is the largest
over the spatial branches. A global reduction (adaptive pooling, mean over the spatial axes,
flatten, a linear layer on a spatial axis) ends the spatial part: its output is *global*. A global
value never widens a field where it meets one again, so an SE gate ``x * gate(pool(x))`` leaves
the field of ``x`` as it is. The network's receptive field is the largest field that reaches a
global reduction or the output: for a classifier, the feature map before its global pool. A
reshape that merges a spatial axis with others is taken for the head's flatten.

When fx cannot trace a model (Python control flow on tensor values), forward hooks on the leaf
modules are used instead. Hooks do not see functional ops (``x + y``, ``torch.cat``): a module
whose input no hooked module produced is given the largest field seen so far, exact when, as in
the usual networks, the deepest branch is also the widest; the result says ``method="hooks"``.
Upsampling layers (transposed convs, interpolation, pixel shuffle) are refused.
"""

from __future__ import annotations

import copy
import operator
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

import torch
import torch.nn.functional as F
from torch import fx, nn

from nasbench.errors import NasbenchError
from nasbench.measure._common import check_input_shape, float_dtype


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of a network, per spatial dimension of its input.

    ``size``: input positions (per dim) that one position of the final feature map sees.
    ``jump``: the total stride of that feature map. ``feature_shape``: its spatial size.
    ``path``: the layers on the longest path that widened the field or strided, input first.
    ``method``: ``fx`` (exact) or ``hooks`` (the fallback, see the module's docstring).
    """

    size: tuple[int, ...]
    jump: tuple[int, ...]
    feature_shape: tuple[int, ...]
    path: tuple[str, ...]
    method: str

    @property
    def max(self) -> int:
        """The largest receptive field over the spatial dimensions."""
        return max(self.size)


@dataclass(frozen=True)
class _Field:
    """What one tensor of the network sees of the input; ``axes`` locates its spatial dims."""

    size: tuple[int, ...]
    jump: tuple[int, ...]
    axes: tuple[int, ...]
    path: tuple[str, ...]


class _Global:
    """Marks a tensor that depends on the whole input (after a global reduction)."""

    def __repr__(self) -> str:
        return "GLOBAL"


GLOBAL = _Global()
_State = _Field | _Global | None  # None: not derived from the input (weights, sizes)


@dataclass(frozen=True)
class _Window:
    """A sliding window over the last ``len(kernel)`` axes of its input."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]


# --- the op tables ------------------------------------------------------------------------


def _functions(*names: str) -> set[Callable[..., Any]]:
    """Every ``F.<name>`` and ``torch.<name>`` that exists (the two are not always the same)."""
    return {f for name in names for mod in (F, torch) if (f := getattr(mod, name, None)) is not None}


def _per_ndim(*patterns: str) -> dict[Callable[..., Any], int]:
    return {f: n for n in (1, 2, 3) for f in _functions(*(p.format(n) for p in patterns))}


_CONV_FNS = _per_ndim("conv{}d")
_MAXPOOL_FNS = _per_ndim("max_pool{}d", "max_pool{}d_with_indices")
_AVGPOOL_FNS = _per_ndim("avg_pool{}d")
_LPPOOL_FNS = _per_ndim("lp_pool{}d")
_ADAPTIVE_FNS = _per_ndim("adaptive_avg_pool{}d", "adaptive_max_pool{}d", "adaptive_max_pool{}d_with_indices")


class _Pool(Protocol):
    """The window attributes every pooling module of ``_POOL_MODULES`` has."""

    kernel_size: int | Sequence[int]
    stride: int | Sequence[int] | None


_POOL_MODULES: dict[type, int] = {
    nn.MaxPool1d: 1,
    nn.MaxPool2d: 2,
    nn.MaxPool3d: 3,
    nn.AvgPool1d: 1,
    nn.AvgPool2d: 2,
    nn.AvgPool3d: 3,
    nn.LPPool1d: 1,
    nn.LPPool2d: 2,
    **({nn.LPPool3d: 3} if hasattr(nn, "LPPool3d") else {}),
}
_UNSUPPORTED_FNS = _functions(
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "fold",
    "grid_sample",
)
_UNSUPPORTED_MODULES = (
    nn.Upsample,
    nn.PixelShuffle,
    nn.PixelUnshuffle,
    nn.Fold,
    nn.Unfold,
    nn.FractionalMaxPool2d,
    nn.FractionalMaxPool3d,
    nn.MaxUnpool1d,
    nn.MaxUnpool2d,
    nn.MaxUnpool3d,
)
_PAD_MODULES = tuple(
    getattr(nn.modules.padding, n) for n in dir(nn.modules.padding) if n.startswith("_") and n.endswith("PadNd")
)
_PERMUTES = {"permute", "transpose", "swapaxes", "swapdims"}
_REDUCTIONS = {
    "mean",
    "sum",
    "amax",
    "amin",
    "max",
    "min",
    "std",
    "var",
    "logsumexp",
    "prod",
    "median",
    "nanmean",
    "nansum",
}
# Reshapes that merge the spatial axes are where a head flattens its features.
_RESHAPES = {"view", "reshape", "flatten", "unflatten", "getitem"}


def _tuple(value: int | Sequence[int] | None, n: int, default: int | Sequence[int]) -> tuple[int, ...]:
    value = default if value is None else value
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    return value * n if len(value) == 1 else value


def _arg(args: Sequence[Any], kwargs: dict[str, Any], pos: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[pos] if len(args) > pos else default


def _op_name(target: Any) -> str:
    """``mean`` for ``torch.mean``, ``Tensor.mean`` or the method name ``"mean"``."""
    if isinstance(target, str):
        return target
    if target is operator.getitem:
        return "getitem"
    if isinstance(target, nn.Module):
        return type(target).__name__
    return getattr(target, "__name__", "")


# --- the rules ----------------------------------------------------------------------------


def _module_window(mod: nn.Module) -> _Window | None:
    if isinstance(mod, nn.modules.conv._ConvNd):
        return _Window(tuple(mod.kernel_size), tuple(mod.stride), tuple(mod.dilation))
    n = _POOL_MODULES.get(type(mod))
    if n is None:
        return None
    pool = cast(_Pool, mod)
    kernel = _tuple(pool.kernel_size, n, 1)
    dilation = getattr(mod, "dilation", 1)
    return _Window(kernel, _tuple(pool.stride, n, kernel), _tuple(dilation, n, 1))


def _function_window(fn: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> _Window | None:
    if fn in _CONV_FNS:
        n = _CONV_FNS[fn]
        kernel = tuple(_arg(args, kwargs, 1, "weight").shape[2:])
        return _Window(
            kernel, _tuple(_arg(args, kwargs, 3, "stride"), n, 1), _tuple(_arg(args, kwargs, 5, "dilation"), n, 1)
        )
    for table, k_pos, has_dilation in ((_MAXPOOL_FNS, 1, True), (_AVGPOOL_FNS, 1, False), (_LPPOOL_FNS, 2, False)):
        if fn in table:
            n = table[fn]
            kernel = _tuple(_arg(args, kwargs, k_pos, "kernel_size"), n, 1)
            stride = _tuple(_arg(args, kwargs, k_pos + 1, "stride"), n, kernel)
            dilation = _arg(args, kwargs, 4, "dilation") if has_dilation else 1
            return _Window(kernel, stride, _tuple(dilation, n, 1))
    return None


def _grow(field: _Field, window: _Window, rank: int, name: str) -> _Field:
    """The field after a window sliding over the last axes of a rank-``rank`` tensor."""
    first = rank - len(window.kernel)
    size, jump = list(field.size), list(field.jump)
    for d, axis in enumerate(field.axes):
        if axis < first:
            continue  # e.g. a Conv1d over channels-last features: not this spatial dim
        i = axis - first
        k_eff = window.kernel[i] + (window.kernel[i] - 1) * (window.dilation[i] - 1)
        size[d] += (k_eff - 1) * jump[d]
        jump[d] *= window.stride[i]
    grew = tuple(size) != field.size or tuple(jump) != field.jump
    return replace(field, size=tuple(size), jump=tuple(jump), path=(*field.path, name) if grew else field.path)


def _merge(fields: Sequence[_Field]) -> _Field:
    """Where branches meet: the widest field (the jumps agree in any well-formed network)."""
    widest = max(fields, key=lambda f: (sum(f.size), len(f.path)))
    size = tuple(max(s) for s in zip(*(f.size for f in fields)))
    jump = tuple(max(j) for j in zip(*(f.jump for f in fields)))
    return replace(widest, size=size, jump=jump)


def _follow(field: _Field, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> _Field | None:
    """The field in an output whose shape changed without touching the spatial axes, or None."""
    if out_shape == in_shape:
        return field
    lo, hi = min(field.axes), max(field.axes)
    tail = in_shape[lo:]
    if len(out_shape) >= len(tail) and out_shape[len(out_shape) - len(tail) :] == tail:
        shift = len(out_shape) - len(in_shape)  # leading axes added or merged (cat, view, stack)
        return replace(field, axes=tuple(a + shift for a in field.axes))
    if out_shape[: hi + 1] == in_shape[: hi + 1]:
        return field  # only trailing axes changed (a linear layer on channels-last features)
    return None


def _permuted(field: _Field, name: str, args: Sequence[Any], kwargs: dict[str, Any], rank: int) -> _Field:
    if name == "permute":
        dims = kwargs.get("dims", args[1:] if len(args) > 2 else args[1])
        order = [d % rank for d in dims]
    else:
        a, b = (_arg(args, kwargs, 1, "dim0") % rank, _arg(args, kwargs, 2, "dim1") % rank)
        order = list(range(rank))
        order[a], order[b] = b, a
    return replace(field, axes=tuple(order.index(a) for a in field.axes))


def _reduced(
    field: _Field, args: Sequence[Any], kwargs: dict[str, Any], in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> _State:
    dim = _arg(args, kwargs, 1, "dim")
    if dim is None:
        return GLOBAL
    dims = {d % len(in_shape) for d in ((dim,) if isinstance(dim, int) else dim)}
    if dims & set(field.axes):
        return GLOBAL
    if len(out_shape) == len(in_shape):  # keepdim
        return field
    return replace(field, axes=tuple(a - sum(d < a for d in dims) for a in field.axes))


def _flattened(field: _Field, start: int, end: int, rank: int) -> _State:
    start, end = start % rank, end % rank
    if end > start and any(start <= a <= end for a in field.axes):
        return GLOBAL
    return replace(field, axes=tuple(a - (end - start) if a > end else a for a in field.axes))


class _Unhandled:
    """An op the specific rules do not know: the shapes decide."""


_UNHANDLED = _Unhandled()


@dataclass(frozen=True)
class _Call:
    """One op on a spatial value: ``target`` (the module, the function or the method's name) called
    as ``kind`` (``call_module``, ``call_function``, ``call_method``), named ``name`` in the path;
    ``x`` is its spatial input, ``out`` its output."""

    target: Any
    kind: str
    name: str
    x: torch.Tensor
    out: torch.Tensor
    args: Sequence[Any]
    kwargs: dict[str, Any]


def _refuse_upsampling(call: _Call) -> None:
    target, kind, name = call.target, call.kind, call.name
    if kind == "call_module" and (isinstance(target, _UNSUPPORTED_MODULES) or getattr(target, "transposed", False)):
        raise NasbenchError(f"receptive field: {name} ({type(target).__name__}) upsamples, which is not supported")
    if kind == "call_function" and target in _UNSUPPORTED_FNS:
        raise NasbenchError(f"receptive field: {name} ({_op_name(target)}) upsamples, which is not supported")


def _module_state(call: _Call, field: _Field) -> _State | _Unhandled:
    mod, x, out = call.target, call.x, call.out
    window = _module_window(mod)
    if window is not None:
        return _grow(field, window, x.dim(), call.name)
    if isinstance(mod, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
        return _adaptive(field, tuple(x.shape), tuple(out.shape))
    if isinstance(mod, nn.Linear):
        return GLOBAL if x.dim() - 1 in field.axes else field
    if isinstance(mod, nn.Flatten):
        return _flattened(field, mod.start_dim, mod.end_dim, x.dim())
    if isinstance(mod, _PAD_MODULES):
        return field  # padding shifts positions but adds no input to any of them
    return _UNHANDLED


def _call_state(call: _Call, field: _Field) -> _State | _Unhandled:
    """Rules for functions and methods (``target`` is then the method's name)."""
    target, x, out, args, kwargs = call.target, call.x, call.out, call.args, call.kwargs
    op, rank = _op_name(target), x.dim()
    window = _function_window(target, args, kwargs)
    if window is not None:
        return _grow(field, window, rank, call.name)
    if target in _ADAPTIVE_FNS:
        return _adaptive(field, tuple(x.shape), tuple(out.shape))
    if target is F.linear:
        return GLOBAL if rank - 1 in field.axes else field
    if op == "flatten":
        return _flattened(field, _arg(args, kwargs, 1, "start_dim", 0), _arg(args, kwargs, 2, "end_dim", -1), rank)
    if op in _PERMUTES:
        return _permuted(field, op, args, kwargs, rank)
    if target is F.pad:
        return field
    # Before the shapes decide: a reduction can leave a shape that looks like a reshape.
    if op in _REDUCTIONS and not isinstance(_arg(args, kwargs, 1, "dim"), torch.Tensor):
        return _reduced(field, args, kwargs, tuple(x.shape), tuple(out.shape))
    return _UNHANDLED


def _adaptive(field: _Field, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> _State:
    """Adaptive pooling ends the spatial part unless it leaves the feature map as it is."""
    same = len(in_shape) == len(out_shape) and all(in_shape[a] == out_shape[a] for a in field.axes)
    return field if same else GLOBAL


def _rule(call: _Call, field: _Field) -> _State:
    """The state of ``call``'s output, ``field`` being that of its spatial input."""
    _refuse_upsampling(call)
    state = _module_state(call, field) if call.kind == "call_module" else _call_state(call, field)
    if not isinstance(state, _Unhandled):
        return state
    name, in_shape, out_shape, op = call.name, tuple(call.x.shape), tuple(call.out.shape), _op_name(call.target)
    followed = _follow(field, in_shape, out_shape)
    if followed is not None:
        return followed
    if op == "getitem" and len(out_shape) == len(in_shape):
        return field  # a crop
    if op in _RESHAPES:
        return GLOBAL
    raise NasbenchError(
        f"receptive field: cannot follow the spatial axes through {name} ({op}): "
        f"shape {list(in_shape)} -> {list(out_shape)}"
    )


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((t for v in value if (t := _first_tensor(v)) is not None), None)
    return None


def _input_field(x: torch.Tensor, ndim: int) -> _Field:
    rank = x.dim()
    return _Field((1,) * ndim, (1,) * ndim, tuple(range(rank - ndim, rank)), ())


# --- the fx path --------------------------------------------------------------------------


class _Propagator(fx.Interpreter):
    """Runs the traced graph on meta tensors and carries a state alongside every value."""

    def __init__(self, gm: fx.GraphModule, ndim: int) -> None:
        super().__init__(gm)
        self.ndim = ndim
        self.states: dict[fx.Node, _State] = {}
        self.heads: list[tuple[_Field, tuple[int, ...]]] = []  # fields that reached a global op

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        self.states[n] = self._state(n, out)
        return out

    def _state(self, n: fx.Node, out: Any) -> _State:
        if n.op == "placeholder":  # the input, or an option with its default value
            return _input_field(out, self.ndim) if isinstance(out, torch.Tensor) else None
        inputs = [(self.states[a], self.env[a]) for a in n.all_input_nodes]
        spatial = [(s, v) for s, v in inputs if isinstance(s, _Field)]
        if n.op == "output":
            self.heads += [(s, _spatial_shape(s, v)) for s, v in spatial]
            return None
        out_t = _first_tensor(out)
        if out_t is None:
            return None
        if not spatial:
            return GLOBAL if any(s is GLOBAL for s, _ in inputs) else None
        field, x = _merge([s for s, _ in spatial]), spatial[0][1]
        if not isinstance(x, torch.Tensor):
            return field  # an element of a multi-output op (split, chunk)
        target: Any
        if n.op == "call_module":
            assert isinstance(n.target, str)  # a module call's target is the module's qualified name
            target, name = self.module.get_submodule(n.target), n.target
        else:
            target, name = n.target, n.name
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        state = _rule(_Call(target, n.op, name, x, out_t, args, kwargs), field)
        if state is GLOBAL:
            self.heads.append((field, _spatial_shape(field, x)))
        return state


def _spatial_shape(field: _Field, x: Any) -> tuple[int, ...]:
    t = _first_tensor(x)
    return tuple(int(t.shape[a]) for a in field.axes) if t is not None else ()


def _fx_heads(gm: fx.GraphModule, x: torch.Tensor, ndim: int) -> list[tuple[_Field, tuple[int, ...]]]:
    prop = _Propagator(gm, ndim)
    prop.run(x)
    return prop.heads


# --- the hooks fallback -------------------------------------------------------------------


class _HookPropagator:
    """Leaf modules in execution order; values no module produced get the widest field so far."""

    def __init__(self, model: nn.Module, x: torch.Tensor, ndim: int) -> None:
        self.ndim = ndim
        self.names = {m: name for name, m in model.named_modules()}
        self.states: dict[int, _State] = {id(x): _input_field(x, ndim)}
        self.keep: list[torch.Tensor] = [x]  # keeps the ids in ``states`` from being reused
        self.fields: list[tuple[_Field, torch.Tensor]] = [(_input_field(x, ndim), x)]
        self.heads: list[tuple[_Field, tuple[int, ...]]] = []

    def widest(self) -> tuple[_Field, tuple[int, ...]]:
        field, value = max(self.fields, key=lambda fv: (sum(fv[0].size), len(fv[0].path)))
        return field, _spatial_shape(field, value)

    def state_of(self, inp: torch.Tensor) -> _State:
        if id(inp) in self.states:
            return self.states[id(inp)]
        field, shape = self.widest()  # made by an op no hook sees: x + y, torch.cat, ...
        if inp.dim() == self.ndim + 2:
            state: _State = replace(field, axes=tuple(range(2, self.ndim + 2)))
        else:  # flattened by such an op
            self.heads.append((field, shape))
            state = GLOBAL
        self.remember(inp, state)
        return state

    def remember(self, value: torch.Tensor, state: _State) -> None:
        self.states[id(value)] = state
        self.keep.append(value)

    def __call__(self, mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        inp, out = _first_tensor(inputs), _first_tensor(output)
        if inp is None or out is None:
            return
        state = self.state_of(inp)
        if isinstance(state, _Field):
            new = _rule(_Call(mod, "call_module", self.names[mod], inp, out, (inp,), {}), state)
            if new is GLOBAL:
                self.heads.append((state, _spatial_shape(state, inp)))
            elif isinstance(new, _Field):
                self.fields.append((new, out))
            state = new
        self.remember(out, state)


def _hook_heads(model: nn.Module, x: torch.Tensor, ndim: int) -> list[tuple[_Field, tuple[int, ...]]]:
    prop = _HookPropagator(model, x, ndim)
    handles = [m.register_forward_hook(prop) for m in model.modules() if not list(m.children())]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return prop.heads or [prop.widest()]


# --- the public functions -----------------------------------------------------------------


def _meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode whose parameters and buffers live on the meta device."""
    memo: dict[int, Any] = {}
    for t in (*model.parameters(), *model.buffers()):
        empty = torch.empty_like(t, device="meta")
        # Seeding deepcopy's memo skips copying the data, which dominates for large models.
        memo[id(t)] = nn.Parameter(empty, t.requires_grad) if isinstance(t, nn.Parameter) else empty
    return copy.deepcopy(model, memo).eval()


def receptive_field_info(model: nn.Module, input_shape: Sequence[int]) -> ReceptiveField:
    """Receptive field, jump, feature-map size and longest path of ``model``.

    ``input_shape`` is one sample's shape, ``(channels, *spatial)``. ``model`` is not changed:
    the trace runs on a meta-device copy.
    """
    shape = check_input_shape(input_shape)
    ndim = len(shape) - 1
    meta = _meta_copy(model)
    x = torch.empty((1, *shape), device="meta", dtype=float_dtype(meta))
    method = "fx"
    try:
        traced = fx.symbolic_trace(meta)
    except Exception as e:  # fx raises TraceError, TypeError, ... on Python control flow
        warnings.warn(
            f"receptive field: fx cannot trace {type(model).__name__} ({e}); falling back to forward hooks",
            stacklevel=2,
        )
        traced, method = None, "hooks"
    try:
        with torch.no_grad():
            heads = _fx_heads(traced, x, ndim) if traced is not None else _hook_heads(meta, x, ndim)
    except RuntimeError as e:
        raise NasbenchError(
            f"receptive field: a forward pass of input shape {shape} (one sample, channels first) failed: {e}"
        ) from e
    if not heads:
        raise NasbenchError(f"receptive field: {type(model).__name__} has no spatial feature map")
    field, feature_shape = max(heads, key=lambda h: (max(h[0].size), sum(h[0].size)))
    return ReceptiveField(field.size, field.jump, feature_shape, field.path, method)


def receptive_field(model: nn.Module, input_shape: Sequence[int]) -> int:
    """The theoretical receptive field of ``model`` (input positions, largest over spatial dims).

    ``input_shape`` is ``(channels, *spatial)``; see :func:`receptive_field_info` for more.
    """
    return receptive_field_info(model, input_shape).max
