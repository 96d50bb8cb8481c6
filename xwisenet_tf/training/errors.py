"""The one exception type of training, evaluation and prediction."""

from __future__ import annotations


class TrainingError(ValueError):
    """A configuration, model directory, checkpoint or input the user can fix.

    The message names the file or value and what was expected; the command-line tools print it
    as one line and exit with a non-zero status instead of showing a traceback.
    """
