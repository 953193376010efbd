"""Data checks run before training or evaluation: ``auralab check ...``.

Every check returns :class:`Finding`s (file, problem, fix, severity) so that a batch of bad files
is reported in one pass, one line each, instead of failing on the first.
"""

from auralab.check.finding import Finding, errors_first
from auralab.check.pairs import CheckReport, check_pairs

__all__ = ["CheckReport", "Finding", "check_pairs", "errors_first"]
