"""A weight-sharing supernet over a search space: one set of weights of which every architecture
of the space inherits a slice (single-path one-shot, Guo et al. 2020; Once-for-All, Cai et al. 2020).

A *path* is the stand-alone ``Network`` the builder makes for an architecture. Each of its
parameters is a slice of one shared tensor, found by a key that names where the parameter sits
(``s1.b0.inverted.depthwise.0.weight``: stage 1, block 0, an inverted block's depthwise conv).
The path runs the builder's own modules with those slices (``torch.func.functional_call``), so a
path's output equals the stand-alone network's built from the same weights by construction, for
every block type and dimensionality; the tests check it all the same.

What the supernet shares, per dimension of a space:

- width, expansion ratio, SE ratio, dense growth, stem and head widths: the leading channels of
  the widest choice (channel slicing);
- kernel size: the centre of the largest kernel (as Once-for-All does, without its learned
  kernel transforms);
- depth: a stage's trailing blocks are skipped; a block's weights belong to its position;
- block type: one set of weights per block type at each block position (dense stages: one set
  per stage position);
- number of stages: trailing stages are skipped; the classifier has one set of weights for each
  possible last stage (and one after a head conv);
- dilation, downsampling by stride or pool, activation, dropout: they have no weights;
- normalisation: affine weights are shared per norm type (BatchNorm with BatchNorm, GroupNorm with
  GroupNorm); running statistics are never shared: each path recalibrates its own (``calibrate_bn``).

A few-shot supernet (``few_shot=True``, Zhao et al. 2021) is one such supernet per block type of the
first stage: paths that differ there share no weights at all.

Input resolution is not shared: a supernet trains at one input size (``SUPERNET_UNSHARED``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from nasbench.nn.builder import Network, build_network
from nasbench.space.architecture import Architecture, Stage, applies
from nasbench.space.spec import SpaceSpec
from nasbench.space.widths import scale_width

SHARED_DIMENSIONS = (
    "depth (trailing blocks skipped)",
    "width (leading channels)",
    "kernel (centre of the largest)",
    "dilation",
    "expansion",
    "SE on/off and ratio",
    "dense growth",
    "block type (one branch per type per block position)",
    "number of stages",
    "stem width and kernel",
    "head width",
    "activation, dropout, downsampling (no weights)",
)
SUPERNET_UNSHARED = "input resolution (one supernet trains at one input size)"
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def supernet_refusal(space: SpaceSpec) -> str | None:
    """Why a supernet cannot cover ``space`` (None when it can)."""
    if len(space.resolution) > 1:
        return (
            f"space {space.name} chooses the input resolution ({space.resolution}); the supernet shares "
            "weights at one input size only"
        )
    return None


def shared_key(arch: Architecture, name: str) -> str:
    """The shared tensor a path's parameter ``name`` (as ``Network.named_parameters`` gives it) is
    a slice of."""
    parts = name.split(".")
    if parts[0] == "stages":
        s = int(parts[1])
        stage = arch.stages[s]
        if stage.block == "dense":
            return ".".join([f"s{s}", "dense", *parts[2:]])
        block = int(parts[2]) - (1 if stage.downsample == "pool" else 0)  # a max-pool comes first
        return ".".join([f"s{s}", f"b{block}", stage.block, *parts[3:]])
    if parts[0] == "classifier":
        source = "head" if arch.head_width else f"s{len(arch.stages) - 1}"
        return ".".join(["classifier", f"from_{source}", *parts[1:]])
    return name


FEW_SHOT_SEP = "|"


def path_parameters(
    arch: Architecture, net: nn.Module, few_shot: bool = False
) -> Iterator[tuple[str, str, torch.Tensor, str]]:
    """Each parameter of ``net`` (``arch``'s network): its name, the key of the shared tensor it is a
    slice of, the parameter, and its kind (conv, linear or norm).

    Normalisation layers keep affine weights of their own per norm type (``@batch``, ``@group``): a
    GroupNorm and a BatchNorm at one place scale very differently, and sharing them kept a supernet
    of the ``mnist1d`` space at chance. In a few-shot supernet (Zhao et al., 2021) every key is
    prefixed by the block type of the first stage: one sub-supernet per first-stage block type.
    """
    for module_name, module in net.named_modules():
        kind = _kind(module)
        for pname, p in module.named_parameters(recurse=False):
            name = f"{module_name}.{pname}" if module_name else pname
            key = shared_key(arch, name) + (f"@{arch.norm}" if kind == "norm" else "")
            yield name, (f"{arch.stages[0].block}{FEW_SHOT_SEP}{key}" if few_shot else key), p, kind


def take(shared: torch.Tensor, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """The slice of ``shared`` a parameter of ``shape`` inherits: leading channels, and the centre
    of a convolution's kernel (dims 2 and on of a conv weight)."""
    index = []
    for d, (have, want) in enumerate(zip(shared.shape, shape, strict=True)):
        start = (have - want) // 2 if d >= 2 else 0
        index.append(slice(start, start + want))
    return shared[tuple(index)]


@dataclass(frozen=True)
class SharedShape:
    """The largest shape any path asks of one shared tensor, and the module kind that owns it."""

    shape: tuple[int, ...]
    kind: str  # conv, linear or norm: how the tensor is initialised


def _kind(module: nn.Module) -> str:
    if isinstance(module, _NORMS):
        return "norm"
    return "linear" if isinstance(module, nn.Linear) else "conv"


def path_shapes(arch: Architecture, in_channels: int, num_classes: int, ndim: int) -> dict[str, SharedShape]:
    """Each parameter of ``arch``'s network by shared key (built on the meta device: no memory)."""
    with torch.device("meta"):
        net = build_network(arch, in_channels, num_classes, ndim)
    return {key: SharedShape(tuple(p.shape), kind) for _, key, p, kind in path_parameters(arch, net)}


def _widest_architectures(space: SpaceSpec) -> Iterator[Architecture]:
    """Architectures that together ask for the largest shape of every shared tensor: every number
    of stages, block type, norm and head, each at its widest, deepest, largest kernel, with a
    downsampling first block (so that every projection shortcut exists)."""
    mults = space.width_mult

    def widest(values: Iterable[int]) -> int:
        return max(scale_width(w, m) for w in values for m in mults)

    blocks = sorted({b for i in range(max(space.num_stages)) for b in space.stage_choices(i).block or ()})
    for n in space.num_stages:
        for block in blocks:
            stages = []
            for i in range(n):
                c = space.stage_choices(i)
                b = block if block in (c.block or ()) else (c.block or ["plain"])[0]
                se = max(c.se or [0])
                stages.append(
                    Stage(
                        block=b,
                        depth=max(c.depth or [1]),
                        width=widest(c.width or [16]),
                        kernel=max(c.kernel or [3]),
                        downsample="stride",
                        expansion=max(c.expansion or [1]) if applies(b, "expansion") else None,
                        growth=max(c.growth or [1]) if applies(b, "growth") else None,
                        se_ratio=se if applies(b, "se_ratio") and se else None,
                    )
                )
            for norm in space.norm:
                for head in {0, max(space.head.width)}:
                    yield Architecture(
                        stages=tuple(stages),
                        stem_width=widest(space.stem.width),
                        stem_kernel=max(space.stem.kernel),
                        norm=norm,
                        head_width=head,
                    )


def supernet_shapes(space: SpaceSpec, in_channels: int, num_classes: int, ndim: int) -> dict[str, SharedShape]:
    """The shape of every shared tensor of ``space``'s supernet (the element-wise largest)."""
    shapes: dict[str, SharedShape] = {}
    for arch in _widest_architectures(space):
        for key, s in path_shapes(arch, in_channels, num_classes, ndim).items():
            old = shapes.get(key)
            shapes[key] = s if old is None else SharedShape(tuple(map(max, old.shape, s.shape)), s.kind)
    return shapes


def _param_name(key: str) -> str:
    return key.replace(".", "/")  # module attribute names may not contain dots


class Supernet(nn.Module):
    """The shared weights of every path of one space, for one input shape and class count.

    ``forward(x)`` runs the active path (``activate``), so a Lightning module can train it like
    any network; ``path_forward`` runs a given one.
    """

    def __init__(self, space: SpaceSpec, in_channels: int, num_classes: int, ndim: int, few_shot: bool = False) -> None:
        super().__init__()
        refusal = supernet_refusal(space)
        if refusal is not None:
            raise ValueError(refusal)
        self.space_name, self.few_shot = space.name, few_shot
        self.in_channels, self.num_classes, self.ndim = in_channels, num_classes, ndim
        shapes = supernet_shapes(space, in_channels, num_classes, ndim)
        if few_shot:
            firsts = space.stage_choices(0).block or []
            shapes = {f"{b}{FEW_SHOT_SEP}{k}": s for b in firsts for k, s in shapes.items()}
        self.shapes = shapes
        self.weights = nn.ParameterDict()
        for key, s in sorted(self.shapes.items()):
            t = torch.empty(s.shape)
            param = key.split("@")[0].rsplit(".", 1)[1]  # weight or bias
            if s.kind == "norm":
                (nn.init.ones_ if param == "weight" else nn.init.zeros_)(t)
            elif param == "bias":
                bound = 1 / math.sqrt(max(1, _fan_in_of(key, self.shapes)))
                nn.init.uniform_(t, -bound, bound)
            else:
                nn.init.kaiming_uniform_(t, a=math.sqrt(5))
            self.weights[_param_name(key)] = nn.Parameter(t)
        self.active: Architecture | None = None

    def shared(self, key: str) -> torch.Tensor:
        return self.weights[_param_name(key)]

    def activate(self, arch: Architecture) -> None:
        self.active = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.active is None:
            raise RuntimeError("no path is active: call activate(architecture) first")
        return self.path_forward(self.active, x)

    def path_forward(self, arch: Architecture, x: torch.Tensor) -> torch.Tensor:
        """``arch``'s output on ``x``, through the shared weights (gradients reach them).

        BatchNorm always normalises by batch statistics here: running statistics are never
        shared between paths (for evaluation, ``extract`` and ``calibrate_bn``).
        """
        net = skeleton(arch, self.in_channels, self.num_classes, self.ndim, x.device)
        net.train(self.training)
        for m in net.modules():
            if isinstance(m, _BATCHNORMS):
                m.train()
        return functional_call(net, self.path_weights(arch, net), (x,), strict=False)

    def path_weights(self, arch: Architecture, net: nn.Module) -> dict[str, torch.Tensor]:
        """The slice of the shared weights each parameter of ``net`` (``arch``'s network) inherits."""
        weights = {}
        for name, key, p, _ in path_parameters(arch, net, self.few_shot):
            if key not in self.shapes or any(w > h for w, h in zip(p.shape, self.shapes[key].shape, strict=True)):
                raise ValueError(f"the supernet of space {self.space_name} does not cover {name} of {arch.summary()}")
            weights[name] = take(self.shared(key), p.shape)
        return weights

    def uncovered(self, arch: Architecture) -> str | None:
        """Why ``arch`` is not a path of this supernet (None when it is)."""
        with torch.device("meta"):
            net = build_network(arch, self.in_channels, self.num_classes, self.ndim)
        for _, key, p, _ in path_parameters(arch, net, self.few_shot):
            have = self.shapes.get(key)
            if have is None or any(w > h for w, h in zip(p.shape, have.shape, strict=True)):
                return f"{key} {tuple(p.shape)} is outside the supernet of space {self.space_name}"
        return None

    def extract(self, arch: Architecture, device: str | torch.device = "cpu") -> Network:
        """The stand-alone network of ``arch`` holding copies of its inherited weights."""
        return extract_network(arch, self.state_weights(), self.in_channels, self.num_classes, self.ndim, device)

    def state_weights(self) -> dict[str, torch.Tensor]:
        """The shared tensors by key (detached), e.g. to ship to workers."""
        return {k: self.shared(k).detach() for k in self.shapes}


def _fan_in_of(bias_key: str, shapes: Mapping[str, SharedShape]) -> int:
    weight = shapes.get(bias_key[: -len("bias")] + "weight")
    return math.prod(weight.shape[1:]) if weight is not None else 1


def skeleton(
    arch: Architecture, in_channels: int, num_classes: int, ndim: int, device: str | torch.device = "cpu"
) -> Network:
    """``arch``'s network with uninitialised parameters and fresh normalisation statistics: built
    on the meta device (no initialisation cost), then given storage on ``device``."""
    with torch.device("meta"):
        net = build_network(arch, in_channels, num_classes, ndim)
    net = net.to_empty(device=device)
    for m in net.modules():
        if isinstance(m, _BATCHNORMS):
            m.reset_running_stats()
    return net


def extract_network(
    arch: Architecture,
    weights: Mapping[str, torch.Tensor],
    in_channels: int,
    num_classes: int,
    ndim: int,
    device: str | torch.device = "cpu",
) -> Network:
    """The stand-alone network of ``arch`` with copies of its slices of the shared ``weights``."""
    net = skeleton(arch, in_channels, num_classes, ndim, device)
    few_shot = any(FEW_SHOT_SEP in k for k in weights)
    with torch.no_grad():
        for name, key, p, _ in path_parameters(arch, net, few_shot):
            if key not in weights:
                raise ValueError(f"the supernet has no weights for {name} of {arch.summary()}")
            p.copy_(take(weights[key], p.shape))
    return net


@torch.no_grad()
def calibrate_bn(net: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Reset ``net``'s BatchNorm statistics and re-estimate them as exact averages over
    ``batches`` (other layers stay in evaluation mode: no dropout). Returns the batches seen."""
    bns = [m for m in net.modules() if isinstance(m, _BATCHNORMS)]
    net.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
        m.train()
    seen = 0
    for x in batches:
        net(x)
        seen += 1
    net.eval()
    return seen
