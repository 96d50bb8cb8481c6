"""Model presets and builders: XwiseNet and the 3D-ResNets of the paper's comparisons."""

from xwisenet_tf.models.factory import get_model, list_models
from xwisenet_tf.models.presets import PRESETS, ResNet3DSpec, XwiseNetSpec, resolve_spec
from xwisenet_tf.models.resnet3d import build_resnet3d
from xwisenet_tf.models.xwisenet import build_xwisenet

__all__ = [
    "PRESETS",
    "ResNet3DSpec",
    "XwiseNetSpec",
    "build_resnet3d",
    "build_xwisenet",
    "get_model",
    "list_models",
    "resolve_spec",
]
