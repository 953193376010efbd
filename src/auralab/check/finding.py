"""One problem found in the user's data, stated as a line they can act on.

Every check (pairs today; datasets and splits later) reports ``Finding``s, so the CLI prints,
sorts and counts them the same way whatever found them.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")


@dataclass(frozen=True)
class Finding:
    """A problem with one file: what is wrong and how to fix it.

    Attributes:
        file: the file the user has to open or change.
        problem: what is wrong, with the numbers that show it.
        fix: what to do about it.
        severity: ``"error"`` (the data cannot be used as it is) or ``"warning"`` (usable,
            but probably not what the user meant).
    """

    file: str
    problem: str
    fix: str
    severity: Severity = "error"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"Finding.severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def line(self) -> str:
        """The finding as one line: ``FILE: PROBLEM; FIX``."""
        return f"{self.file}: {self.problem}; {self.fix}"

    @classmethod
    def from_message(
        cls,
        file: str,
        message: str,
        severity: Severity = "error",
        default_fix: str = "fix or remove the file",
    ) -> "Finding":
        """Turn a one-line error message (``"FILE: PROBLEM; FIX"``) into a Finding.

        Messages of ``auralab.errors.AuralabError`` follow that shape; the file prefix is dropped
        because the Finding names the file itself, and a message without a fix gets
        ``default_fix``.
        """
        text = message.strip().splitlines()[0] if message.strip() else "unknown problem"
        prefix = f"{file}: "
        if text.startswith(prefix):
            text = text[len(prefix) :]
        problem, fix = _split_fix(text)
        return cls(file, problem, fix or default_fix, severity)


def errors_first(findings: Iterable[Finding]) -> list[Finding]:
    """Findings sorted with errors before warnings, otherwise in their original order."""
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def _split_fix(text: str) -> tuple[str, str]:
    # Split at the first "; " outside parentheses: decoder messages quoted in "(...)" may hold
    # their own semicolons, and those belong to the problem, not to the fix.
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith("; ", i):
            return text[:i], text[i + 2 :].strip()
    return text, ""
