"""Zoo of documented architectures (LeNet-5 ... ConvNeXt) behind one registry.

Importing the family modules registers their networks.
"""

from nasbench.zoo import (  # noqa: F401  (registration side effects)
    alexnet,
    convnext,
    densenet,
    efficientnet,
    googlenet,
    lenet,
    mobilenet_v1,
    mobilenet_v2,
    mobilenet_v3,
    preact_resnet,
    resnet,
    vgg,
)
from nasbench.zoo.figures import documented_figures
from nasbench.zoo.registry import Family, ZooInfo, create_model, list_models, model_info, register_model

__all__ = ["Family", "ZooInfo", "create_model", "documented_figures", "list_models", "model_info", "register_model"]
