"""The zoo registry: names, errors, and what each argument of create_model may change."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasbench.errors import ConfigError
from nasbench.zoo import create_model, list_models, model_info, register_model
from nasbench.zoo.efficientnet import MBConv
from nasbench.zoo.registry import Family

REQUIRED = [
    "lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
    "vgg19_bn", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "preact_resnet18", "wrn28_10", "wide_resnet50_2", "resnext50_32x4d", "se_resnet50",
    "se_resnet152", "densenet121", "densenet169", "densenet201", "mobilenet_v1", "mobilenet_v2",
    "mobilenet_v3_small", "mobilenet_v3_large", *(f"efficientnet_b{i}" for i in range(8)),
    "convnext_tiny", "convnext_small", "convnext_base", "convnext_large", "convnext_xlarge",
]
SCALABLE = {"mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
            *(f"efficientnet_b{i}" for i in range(8))}


def _meta(name: str, **kwargs: object) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


def _shapes(model: nn.Module) -> dict[str, torch.Size]:
    return {k: v.shape for k, v in model.state_dict().items()}


def _changed(a: nn.Module, b: nn.Module) -> set[str]:
    sa, sb = _shapes(a), _shapes(b)
    assert sa.keys() == sb.keys()
    return {k for k in sa if sa[k] != sb[k]}


def test_registry_lists_every_required_network() -> None:
    assert set(REQUIRED) <= set(list_models())
    assert list_models() == sorted(list_models())


def test_unknown_name_raises_config_error_listing_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown zoo model 'resnet9'.*resnet18.*vgg16"):
        create_model("resnet9")
    with pytest.raises(ConfigError, match="resnet9"):
        model_info("resnet9")


def test_duplicate_registration_is_refused() -> None:
    before = list_models()

    def resnet18(**kwargs: object) -> nn.Module:
        return nn.Identity()

    with pytest.raises(ValueError, match="'resnet18' is already registered"):
        register_model(Family("Dummy", "none"))(resnet18)
    assert list_models() == before
    assert isinstance(create_model("resnet18"), nn.Module)
    assert not isinstance(create_model("resnet18"), nn.Identity)


def test_model_info_describes_native_configuration() -> None:
    info = model_info("efficientnet_b7")
    assert (info.family, info.resolution, info.in_channels, info.num_classes) == \
        ("EfficientNet", 600, 3, 1000)
    assert info.documented_name == "EfficientNet-B7"
    assert "stride 1" in info.small_input_adaptation
    lenet = model_info("lenet5")
    assert (lenet.resolution, lenet.in_channels, lenet.num_classes) == (32, 1, 10)
    assert (model_info("wrn28_10").resolution, model_info("wrn28_10").num_classes) == (32, 10)
    assert [model_info(f"efficientnet_b{i}").resolution for i in range(8)] == \
        [224, 240, 260, 300, 380, 456, 528, 600]


@pytest.mark.parametrize("name", list_models())
def test_every_network_states_its_small_input_adaptation(name: str) -> None:
    assert len(model_info(name).small_input_adaptation) > 10


@pytest.mark.parametrize("name", list_models())
def test_each_argument_changes_only_its_part(name: str) -> None:
    native = _meta(name)
    # in_channels: the first convolution's weight, nothing else
    changed = _changed(native, _meta(name, in_channels=1))
    assert len(changed) == 1
    (key,) = changed
    assert key.startswith("stem.") and key.endswith("weight")
    # num_classes: the classifier only
    seven = _meta(name, num_classes=7)
    changed = _changed(native, seven)
    assert changed and all(k.startswith("head.") for k in changed)
    last = list(seven.head.modules())[-1]
    assert (last.out_features if isinstance(last, nn.Linear) else last.centres.shape[0]) == 7
    # small_input: never the body
    assert _shapes(native.body) == _shapes(_meta(name, small_input=True).body)


@pytest.mark.parametrize("name", sorted(set(list_models()) - SCALABLE))
def test_width_mult_is_refused_where_the_family_does_not_define_it(name: str) -> None:
    with pytest.raises(ValueError, match=r"width_mult.*0.5"):
        create_model(name, width_mult=0.5)


@pytest.mark.parametrize("name", sorted(SCALABLE))
def test_width_mult_thins_and_widens_scalable_families(name: str) -> None:
    assert model_info(name).scales_width
    widths = {}
    for w in (0.5, 1.0, 2.0):
        stem_conv = next(m for m in _meta(name, width_mult=w).stem.modules()
                         if isinstance(m, nn.Conv2d))
        widths[w] = stem_conv.out_channels
    assert widths[0.5] < widths[1.0] < widths[2.0]
    assert all(c % 8 == 0 for c in widths.values())


def test_mobilenet_v2_last_conv_never_thinner_than_1280() -> None:
    def last_width(w: float) -> int:
        return _meta("mobilenet_v2", width_mult=w).head[-1].in_features

    assert (last_width(0.5), last_width(1.0), last_width(1.4)) == (1280, 1280, 1792)


@pytest.mark.parametrize("bad", [{"num_classes": 0}, {"in_channels": -1}, {"width_mult": 0.0}])
def test_invalid_arguments_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        create_model("mobilenet_v2", **bad)


def test_efficientnet_compound_scaling_of_depth() -> None:
    # round_repeats = ceil(depth x repeats) over B0's (1, 2, 2, 3, 3, 4, 1) MBConv repeats
    def blocks(name: str) -> int:
        return sum(isinstance(m, MBConv) for m in _meta(name).modules())

    assert blocks("efficientnet_b0") == 16
    assert blocks("efficientnet_b7") == 4 + 7 + 7 + 10 + 10 + 13 + 4  # depth 3.1
