"""The zoo's registry: ``@register_model`` maps a name to a tiny entrypoint (timm's pattern);
``register_variants`` does so for each named configuration of one builder."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from torch import nn

from nasbench.core.registry import Registry
from nasbench.errors import ConfigError

Entrypoint = Callable[..., nn.Module]


@dataclass(frozen=True)
class Family:
    """What all variants of one family share: its name and how it adapts to small inputs."""

    name: str
    small_input_adaptation: str
    scales_width: bool = False


@dataclass(frozen=True)
class ZooInfo:
    """What a zoo network is, without building it.

    ``resolution``, ``in_channels`` and ``num_classes`` are the network's native (documented)
    configuration; ``documented_name`` is its row in ``documented_architectures.csv``, if any.
    """

    name: str
    family: str
    resolution: int
    in_channels: int
    num_classes: int
    documented_name: str | None
    small_input_adaptation: str
    scales_width: bool


@dataclass(frozen=True)
class _Entry:
    build: Entrypoint
    info: ZooInfo


_MODELS: Registry[_Entry] = Registry("zoo model")
IMAGENET_RESOLUTION = 224  # the native input size unless a network says otherwise


def register_model(
    family: Family,
    *,
    resolution: int = IMAGENET_RESOLUTION,
    documented: str | None = None,
    in_channels: int = 3,
    num_classes: int = 1000,
    name: str | None = None,
) -> Callable[[Entrypoint], Entrypoint]:
    """Register the decorated entrypoint under ``name`` (default: its function name); a taken name is refused."""

    def decorate(fn: Entrypoint) -> Entrypoint:
        key = name or fn.__name__
        info = ZooInfo(
            key,
            family.name,
            resolution,
            in_channels,
            num_classes,
            documented,
            family.small_input_adaptation,
            family.scales_width,
        )
        _MODELS.register(key, _Entry(fn, info))
        return fn

    return decorate


def register_variants(
    family: Family,
    build: Callable[..., nn.Module],
    configs: Mapping[str, Any],
    names: Iterable[str] | None = None,
    *,
    documented: Mapping[str, str] | None = None,
    resolutions: Mapping[str, int] | None = None,
) -> None:
    """Register ``names`` (default: every key of ``configs``), each as ``build(configs[name], **kwargs)``.

    ``documented`` gives a variant's row in ``documented_architectures.csv``; ``resolutions`` a
    variant's native input size where it is not ``IMAGENET_RESOLUTION``. The other native figures are the defaults of
    ``register_model``.
    """
    for name in configs if names is None else names:
        register_model(
            family,
            resolution=(resolutions or {}).get(name, IMAGENET_RESOLUTION),
            documented=(documented or {}).get(name),
            name=name,
        )(partial(build, configs[name]))


def list_models() -> list[str]:
    """Names of every registered zoo network, sorted."""
    return _MODELS.names()


def _entry(name: str) -> _Entry:
    return _MODELS.get(name)  # an unknown name raises UnknownName listing the valid ones


def model_info(name: str) -> ZooInfo:
    """Family, native input, documented name and small-input adaptation of zoo network ``name``."""
    return _entry(name).info


def create_model(
    name: str, num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, width_mult: float = 1.0
) -> nn.Module:
    """Build zoo network ``name``.

    ``num_classes`` changes the classifier only, ``in_channels`` the first convolution only;
    ``small_input=True`` adapts the stem (and a head that fixes a spatial size) to 28x28 / 32x32
    inputs; ``width_mult`` scales channel widths in the families that define it.
    """
    entry = _entry(name)
    for field, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{field} must be a positive integer, got {value!r}")
    if not width_mult > 0:
        raise ConfigError(f"width_mult must be positive, got {width_mult!r}")
    kwargs: dict[str, Any] = dict(num_classes=num_classes, in_channels=in_channels, small_input=small_input)
    if entry.info.scales_width:
        kwargs["width_mult"] = width_mult
    elif width_mult != 1.0:
        raise ConfigError(
            f"width_mult is not defined for {entry.info.family} networks such as "
            f"{name!r} (only 1.0 is accepted), got {width_mult!r}"
        )
    return entry.build(**kwargs)
