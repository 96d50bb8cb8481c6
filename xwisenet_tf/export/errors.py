"""The one exception type of the export path."""


class ExportError(ValueError):
    """An export cannot run or failed: bad option, missing checkpoint or data, failed conversion.

    Every message is one line that names the file or value at fault and what was expected, so
    that ``export.py`` can print it without a traceback.
    """
