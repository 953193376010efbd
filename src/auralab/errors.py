"""User-facing errors.

Every error a user can cause (bad file, bad config value, mismatched pair) is an ``AuralabError``
whose message is one line: what is wrong, where (file or key), and how to fix it. The CLI prints
that line and exits with status 2 instead of showing a traceback.
"""


class AuralabError(ValueError):
    """A problem with the user's input, stated in one line with its fix."""


class AudioError(AuralabError):
    """An audio file or waveform that cannot be used as asked."""


class ConfigError(AuralabError):
    """A configuration value that is missing, of the wrong type or out of range."""


class DataError(AuralabError):
    """A data set whose layout or content cannot be used (unpaired files, leaks, ...)."""


class NonInvertibleFeatureError(AuralabError):
    """Waveform output was asked of a feature that discards information (log-mel, ...)."""
