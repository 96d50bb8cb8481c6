"""Keras layers of XwiseNet: 3D convolutions folded for speed and TFLite, conv variants, blocks."""

from xwisenet_tf.layers.batch_norm import BatchNorm
from xwisenet_tf.layers.complexity import layer_macs
from xwisenet_tf.layers.context_blocks import (
    BLOCKS,
    CONTEXT_POOLINGS,
    CBAMBlock,
    GCBlock,
    SEBlock,
    SSBlock,
    make_context_block,
)
from xwisenet_tf.layers.conv3d import FoldedConv3D
from xwisenet_tf.layers.conv_variants import (
    CONV_TYPES,
    ConvBNStack,
    DWConv3D,
    STConv3D,
    TraditionalConv3D,
    XwiseConv3D,
    make_conv,
)
from xwisenet_tf.layers.depthwise3d import DepthwiseConv3D
from xwisenet_tf.layers.layer_norm import ChannelLayerNorm
from xwisenet_tf.layers.pooling import FoldedMaxPool3D
from xwisenet_tf.layers.running_mean import RunningMean
from xwisenet_tf.layers.shortcut import ZeroPadShortcut
from xwisenet_tf.layers.shuffle import ChannelShuffle, ChannelSplit
from xwisenet_tf.layers.stochastic_depth import SkipBranch

__all__ = [
    "BLOCKS",
    "BatchNorm",
    "CONTEXT_POOLINGS",
    "CONV_TYPES",
    "CBAMBlock",
    "ChannelLayerNorm",
    "ChannelShuffle",
    "ChannelSplit",
    "ConvBNStack",
    "DWConv3D",
    "DepthwiseConv3D",
    "FoldedConv3D",
    "FoldedMaxPool3D",
    "GCBlock",
    "RunningMean",
    "SEBlock",
    "SSBlock",
    "SkipBranch",
    "STConv3D",
    "TraditionalConv3D",
    "XwiseConv3D",
    "ZeroPadShortcut",
    "layer_macs",
    "make_context_block",
    "make_conv",
]
