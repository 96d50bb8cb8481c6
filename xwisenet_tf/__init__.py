"""XwiseNet: a lightweight 3D CNN for human action recognition (Keras 3 / TensorFlow).

Implements "Lightweight Action Recognition with Sequence-Specific Global Context"
(Chen et al.): the Xwise Separable Convolution, the SS block, XwiseNet and the
3D-ResNet backbones the paper compares against.
"""

__version__ = "0.1.0"
