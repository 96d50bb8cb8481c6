"""XwiseNet: a lightweight 3D CNN for human action recognition (Keras 3 / TensorFlow).

Implements "Lightweight Action Recognition with Sequence-Specific Global Context"
(Chen et al.): the Xwise Separable Convolution, the SS block, XwiseNet and the
3D-ResNet backbones the paper compares against.

    >>> import xwisenet_tf
    >>> model = xwisenet_tf.XwiseNet(num_classes=6)

Importing the package loads neither TensorFlow nor Keras: `data`, `layers`, `models`,
`get_model` and `list_models` are imported on first use. The layers register with Keras as
soon as Keras loads (`xwisenet_tf.registration`), so a saved model loads after
``import xwisenet_tf`` with plain ``keras.models.load_model(path)``, in safe mode.
"""

from __future__ import annotations

from xwisenet_tf.lazy import lazy_attributes
from xwisenet_tf.registration import register_when_keras_loads

__version__ = "0.1.0"

_LAZY = {"get_model": "models", "list_models": "models"}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, submodules=("data", "layers", "models"))


def XwiseNet(num_classes: int, input_shape=(16, 112, 112, 3), **overrides):  # noqa: N802
    """The paper's XwiseNet (1.5x, X-Conv units, SS blocks before the shuffle), ready to fit.

    Args:
        num_classes: number of action classes.
        input_shape: `(frames, height, width, 3)` of one clip (paper: 16 x 112 x 112).
        **overrides: any option of `xwisenet_tf.models.get_model` (e.g. `block=None`,
            `width=1.0`, `conv_type="dw"`).

    Returns:
        An uncompiled functional `keras.Model` mapping clips to class probabilities.
    """
    from xwisenet_tf.models import get_model

    return get_model("xwisenet", num_classes, input_shape=input_shape, **overrides)


def ResNet3D(depth: int, num_classes: int, input_shape=(16, 112, 112, 3), **overrides):  # noqa: N802
    """3D-ResNet-18/34/50 (Hara et al.) with a pluggable `conv_type` (paper Table II)."""
    from xwisenet_tf.models import get_model

    return get_model(f"resnet3d-{depth}", num_classes, input_shape=input_shape, **overrides)


register_when_keras_loads()

__all__ = ["ResNet3D", "XwiseNet", "data", "get_model", "layers", "list_models", "models"]
