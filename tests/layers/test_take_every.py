"""`take_every` (strided slices from stride-1 slices) and the padding-only taps of the folded
convolutions, both written so that XNNPACK runs the whole graph (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from tests.numpy_reference import conv3d
from xwisenet_tf.layers.common import take_every
from xwisenet_tf.layers.depthwise3d import DepthwiseConv3D


@pytest.mark.parametrize("axis", [1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_take_every_equals_a_strided_slice(axis, stride):
    x = np.arange(2 * 11 * 7 * 3, dtype="float32").reshape(2, 11, 7, 3)
    for start in range(3):
        for count in range(1, 5):
            if start + (count - 1) * stride >= x.shape[axis]:
                continue
            index = [slice(None)] * 4
            index[axis] = slice(start, start + (count - 1) * stride + 1, stride)
            got = ops.convert_to_numpy(take_every(x, axis, start, count, stride))
            np.testing.assert_array_equal(got, x[tuple(index)])


@pytest.mark.parametrize(("frames", "stride"), [(1, 1), (2, 2), (3, 2)])
def test_padding_only_taps_are_skipped_exactly(frames, stride, rng):
    """A 3-tap kernel on 1-3 frames with symmetric padding: the taps that read only padding are
    left out (one tap at 1 frame), and the output is still the 3D convolution's."""
    layer = DepthwiseConv3D((3, 3, 3), strides=(stride, 1, 1), padding="symmetric", use_bias=False)
    x = rng.standard_normal((2, frames, 5, 5, 4)).astype("float32")
    got = ops.convert_to_numpy(layer(x))
    want = conv3d(x, np.asarray(layer.kernel), (stride, 1, 1), "symmetric", depthwise=True)
    np.testing.assert_allclose(got, want, atol=1e-5)
