"""The one exception type of the data path (an `xwisenet_tf.errors.XwiseNetError`)."""

from xwisenet_tf.errors import XwiseNetError


class DataError(XwiseNetError):
    """A video, sequence file, dataset folder or TFRecord shard is not what was expected.

    Every message names the offending file (or URL) and what was expected, so that a user can
    fix the input without reading a traceback from inside FFmpeg or TensorFlow.
    """
