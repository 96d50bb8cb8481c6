"""The one exception type of the export path (an `xwisenet_tf.errors.XwiseNetError`)."""

from xwisenet_tf.errors import XwiseNetError


class ExportError(XwiseNetError):
    """An export cannot run or failed: bad option, missing checkpoint or data, failed conversion.

    Every message is one line that names the file or value at fault and what was expected, so
    that ``export.py`` can print it without a traceback.
    """
