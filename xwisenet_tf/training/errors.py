"""The one exception type of training, evaluation and prediction (an `XwiseNetError`)."""

from __future__ import annotations

from xwisenet_tf.errors import XwiseNetError


class TrainingError(XwiseNetError):
    """A configuration, model directory, checkpoint or input the user can fix.

    The message names the file or value and what was expected; the command-line tools print it
    as one line and exit with a non-zero status instead of showing a traceback.
    """
