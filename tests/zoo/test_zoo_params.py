"""Exact parameter counts of every zoo network at its documented (ImageNet) configuration.

Built on the meta device: counting needs shapes only. Each integer names where it comes from.
"""

from __future__ import annotations

import pytest
import torch

from nasbench.measure import count_params
from nasbench.zoo import create_model, list_models, model_info

TV = "torchvision.models docs, num_params"
TIMM = "timm model (same definition), param count"

EXPECTED: dict[str, tuple[int, str]] = {
    # LeNet-5 paper, section II.B: C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 + F6 10,164
    # + RBF output 84 x 10 = 840
    "lenet5": (60_840, "LeCun et al. 1998, per-layer counts in section II.B"),
    "alexnet": (61_100_840, TV),
    "vgg11": (132_863_336, TV),
    "vgg13": (133_047_848, TV),
    "vgg16": (138_357_544, TV),
    "vgg19": (143_667_240, TV),
    "vgg11_bn": (132_868_840, TV),
    "vgg13_bn": (133_053_736, TV),
    "vgg16_bn": (138_365_992, TV),
    "vgg19_bn": (143_678_248, TV),
    # torchvision's googlenet has 6,624,904 but uses 3x3 kernels in the "5x5" branch
    # (pytorch/vision#906). With the paper's 5x5 kernels: + (25 - 9) x sum(5x5reduce x 5x5) over
    # the nine inception modules = 16 x 23,808 = 380,928.
    "googlenet": (6_624_904 + 380_928, "torchvision googlenet + paper's 5x5 kernels (Table 1)"),
    "resnet18": (11_689_512, TV),
    "resnet34": (21_797_672, TV),
    "resnet50": (25_557_032, TV),
    "resnet101": (44_549_160, TV),
    "resnet152": (60_192_808, TV),
    "wide_resnet50_2": (68_883_240, TV),
    "resnext50_32x4d": (25_028_904, TV),
    # Cadene's pretrainedmodels / timm legacy_seresnet*: SE with reduction 16 and biases
    "se_resnet50": (28_088_024, "pretrainedmodels se_resnet50 n_params; timm legacy_seresnet50"),
    "se_resnet152": (66_821_848, "pretrainedmodels se_resnet152 n_params; timm legacy_seresnet152"),
    # fb.resnet.torch preresnet.lua: the first block is 'no_preact' (the stem ends in BN-ReLU).
    # Gluon's resnet18_v2 / resnet50_v2 (11,687,848 / 25,549,480) pre-activate that block too:
    # 2 x 64 more BN parameters.
    "preact_resnet18": (11_687_848 - 128, "Gluon resnet18_v2 minus the first block's BN(64)"),
    "preact_resnet50": (25_549_480 - 128, "Gluon resnet50_v2 minus the first block's BN(64)"),
    "wrn28_10": (36_479_194, "WRN-28-10 on CIFAR-10 (10 classes): imgclsmob wrn28_10_cifar10"),
    "densenet121": (7_978_856, TV),
    "densenet169": (14_149_480, TV),
    "densenet201": (20_013_928, TV),
    "mobilenet_v1": (4_231_976, "Keras applications MobileNet(alpha=1.0): trainable params"),
    "mobilenet_v2": (3_504_872, TV),
    "mobilenet_v3_small": (2_542_856, TV),
    "mobilenet_v3_large": (5_483_032, TV),
    "efficientnet_b0": (5_288_548, TV),
    "efficientnet_b1": (7_794_184, TV),
    "efficientnet_b2": (9_109_994, TV),
    "efficientnet_b3": (12_233_232, TV),
    "efficientnet_b4": (19_341_616, TV),
    "efficientnet_b5": (30_389_784, TV),
    "efficientnet_b6": (43_040_704, TV),
    "efficientnet_b7": (66_347_960, TV),
    "convnext_tiny": (28_589_128, TV),
    "convnext_small": (50_223_688, TV),
    "convnext_base": (88_591_464, TV),
    "convnext_large": (197_767_336, TV),
    "convnext_xlarge": (350_196_968, TIMM + " convnext_xlarge (350.2 M)"),
}


def _native_params(name: str, **kwargs: float) -> int:
    info = model_info(name)
    with torch.device("meta"):
        model = create_model(name, num_classes=info.num_classes, in_channels=info.in_channels,
                             **kwargs)
    return count_params(model)


def test_every_registered_network_has_an_expected_count() -> None:
    assert sorted(EXPECTED) == list_models()


@pytest.mark.parametrize("name", list_models())
def test_parameter_count_at_native_configuration(name: str) -> None:
    expected, source = EXPECTED[name]
    assert _native_params(name) == expected, f"{name}: expected {expected:,} ({source})"


@pytest.mark.parametrize("width, expected", [(0.75, 2_585_560), (0.5, 1_331_592)])
def test_mobilenet_v1_width_multiplier_counts(width: float, expected: int) -> None:
    # imgclsmob's MobileNet x0.75 / x0.5 (converted from the Gluon model zoo)
    assert _native_params("mobilenet_v1", width_mult=width) == expected
