"""Model presets and builders: XwiseNet and the 3D-ResNets of the paper's comparisons.

Names resolve on first use (`xwisenet_tf.lazy`): `xwisenet_tf.models.presets` (the presets as
data) loads no Keras.
"""

from xwisenet_tf.lazy import lazy_attributes

_LAZY = {
    "PRESETS": "presets",
    "ResNet3DSpec": "presets",
    "XwiseNetSpec": "presets",
    "build_resnet3d": "resnet3d",
    "build_xwisenet": "xwisenet",
    "get_model": "factory",
    "list_models": "factory",
    "resolve_spec": "presets",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
