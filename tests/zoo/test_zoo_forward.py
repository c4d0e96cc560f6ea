"""Forward passes of zoo networks: native inputs, reduced ImageNet-like inputs, small inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasbench.measure import count_params
from nasbench.zoo import create_model, list_models, model_info

# Building these for real costs seconds each (60 M+ parameters to initialise). Their shapes at
# native resolution are still checked on the meta device, their builders run for real through
# their smaller siblings, and VGG runs for real on small inputs.
GIANTS = {"alexnet", "convnext_base", "convnext_large", "convnext_xlarge", "efficientnet_b7",
          "resnet152", "se_resnet152", "wide_resnet50_2", "vgg11", "vgg13", "vgg16", "vgg19",
          "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"}

# One network per family builder, for small inputs (28x28x1 and 32x32x3); wrn28_10 is natively
# a 32x32 network (no adaptation) and runs above.
SMALL = ["lenet5", "alexnet", "vgg11_bn", "googlenet", "resnet18", "preact_resnet18",
         "densenet121", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small",
         "efficientnet_b0", "convnext_tiny"]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)


@pytest.mark.parametrize("name", list_models())
def test_output_shape_at_native_resolution(name: str) -> None:
    info = model_info(name)
    with torch.device("meta"):
        model = create_model(name, num_classes=info.num_classes, in_channels=info.in_channels)
        y = model.eval()(torch.empty(2, info.in_channels, info.resolution, info.resolution))
    assert y.shape == (2, info.num_classes)


@pytest.mark.parametrize("name", sorted(set(list_models()) - GIANTS))
@pytest.mark.slow
def test_forward_on_reduced_imagenet_like_input(name: str) -> None:
    info = model_info(name)
    size = 64 if info.resolution > 32 else info.resolution  # 32x32 networks run natively
    model = create_model(name, num_classes=info.num_classes, in_channels=info.in_channels).eval()
    with torch.no_grad():
        y = model(torch.randn(1, info.in_channels, size, size))
    assert y.shape == (1, info.num_classes)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32)])
@pytest.mark.parametrize("name", SMALL)
def test_small_input_trains(name: str, channels: int, size: int) -> None:
    model = create_model(name, num_classes=10, in_channels=channels, small_input=True).train()
    y = model(torch.randn(2, channels, size, size))
    assert y.shape == (2, 10)
    nn.functional.cross_entropy(y, torch.tensor([3, 7])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "mobilenet_v2", "convnext_tiny"])
def test_small_input_keeps_spatial_detail(name: str) -> None:
    # the point of the adaptation: a 32x32 input still has a map larger than 1x1 at the end
    with torch.device("meta"):
        model = create_model(name, num_classes=10, small_input=True).eval()
        native = create_model(name, num_classes=10).eval()
        x = torch.empty(1, 3, 32, 32)
        assert model.forward_features(x).shape[-1] > native.forward_features(x).shape[-1]


def test_small_input_changes_only_stem_parameters() -> None:
    with torch.device("meta"):
        native, small = create_model("resnet50"), create_model("resnet50", small_input=True)
    stem_diff = count_params(native.stem) - count_params(small.stem)
    assert stem_diff == (7 * 7 - 3 * 3) * 3 * 64
    assert count_params(native) - count_params(small) == stem_diff


def test_lenet5_reads_28x28_mnist_like_its_paper_padded_it() -> None:
    model = create_model("lenet5", num_classes=10, in_channels=1, small_input=True).eval()
    with torch.no_grad():
        c1 = model.stem(torch.randn(1, 1, 28, 28))
    assert c1.shape == (1, 6, 28, 28)
