"""SAFE-DB equaliser user data: loading, term vocabulary, grouped splits and a data report.

``SAFEEqualiserUserData.csv`` (Stables et al., ISMIR 2014) has no header and 25 columns: id,
descriptor, ip (ignored), two unknown, the 13 parameters in ``auralab.eq.normalise.PARAM_NAMES``
order, six metadata columns (genre, instrument, location, experience, age, nationality) and a
hash. Descriptors are free text ("warm", "Warm", "warm "): they are normalised, merged and
filtered here, once, so every model and metric sees the same vocabulary.
"""

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from auralab.check.finding import Finding
from auralab.eq.normalise import PARAM_NAMES, normalise, outside_bounds
from auralab.errors import DataError

N_COLUMNS = 25
PARAM_COLUMNS = slice(5, 18)
HASH_COLUMN = 24
SPLITS = ("train", "val", "test")


def normalise_term(text: str) -> str:
    """A descriptor as a vocabulary key: trimmed, inner spaces collapsed, lower case."""
    return " ".join(text.split()).lower()


@dataclass(frozen=True)
class SafeData:
    """Rows of SAFE settings.

    Attributes:
        terms: ``(N,)`` normalised descriptors.
        params: ``(N, 13)`` float64 physical settings (dB, Hz, Q) in SAFE order.
        groups: ``(N,)`` group ids: the row hash, shared by rows that repeat a setting, so a
            split by group never puts a duplicate on both sides.
        ids: ``(N,)`` the id column.
        path: the file read.
    """

    terms: list[str]
    params: np.ndarray
    groups: list[str]
    ids: list[str]
    path: str = ""

    def __len__(self) -> int:
        return len(self.terms)

    def subset(self, index) -> "SafeData":
        """Rows at ``index`` (integer array or list)."""
        idx = np.asarray(index, dtype=int)
        return SafeData(
            [self.terms[i] for i in idx],
            self.params[idx],
            [self.groups[i] for i in idx],
            [self.ids[i] for i in idx],
            self.path,
        )

    def counts(self) -> Counter:
        """Rows per term."""
        return Counter(self.terms)


def read_safe_csv(path: str | Path) -> SafeData:
    """Read every row of a SAFE csv (descriptors normalised, nothing dropped).

    Raises:
        DataError: missing file, a row without 25 columns, or a parameter that is not a number;
            the message names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: no such SAFE-DB file; pass the path of SAFEEqualiserUserData.csv "
            "(e.g. ../shared/data/safe-db/) or set data.csv"
        )
    terms, params, hashes, ids = [], [], [], []
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            terms.append(normalise_term(row[1]) if len(row) > 1 else "")
            params.append(_parse_row(row, path, line))
            hashes.append(row[HASH_COLUMN].strip() or f"line{line}")
            ids.append(row[0].strip())
    if not terms:
        raise DataError(f"{path}: holds no rows; is it the SAFE equaliser csv?")
    values = np.array(params, dtype=np.float64)  # (N, 13)
    return SafeData(terms, values, group_ids(terms, values, hashes), ids, str(path))


def _parse_row(row: list[str], path: Path, line: int) -> list[float]:
    if len(row) != N_COLUMNS:
        raise DataError(
            f"{path}:{line}: {len(row)} columns, expected {N_COLUMNS} (id, descriptor, ip, "
            "2 unknown, 13 parameters, 6 metadata, hash); is this the SAFE equaliser csv?"
        )
    try:
        return [float(v) for v in row[PARAM_COLUMNS]]
    except ValueError:
        bad = next(n for n, v in zip(PARAM_NAMES, row[PARAM_COLUMNS], strict=True) if not _num(v))
        raise DataError(f"{path}:{line}: {bad} is not a number; fix or delete the row") from None


def _num(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def group_ids(terms: list[str], params: np.ndarray, hashes: list[str]) -> list[str]:
    """The group of each row: its hash, or the first hash of an identical earlier row.

    SAFE's hashes are unique per row, yet the same setting under the same descriptor was
    sometimes submitted twice; such rows share the first one's hash, so grouping by it keeps
    duplicates together.
    """
    first: dict[tuple, str] = {}
    out = []
    for term, row, h in zip(terms, params, hashes, strict=True):
        key = (term, *np.round(row, 4).tolist())
        out.append(first.setdefault(key, h))
    return out


@dataclass
class Vocabulary:
    """How raw descriptors become training terms (the ``[data]`` keys of the same names).

    Attributes:
        min_count: terms with fewer rows (after merging) are dropped.
        merge: descriptor -> term it counts as, e.g. ``{"brighter": "bright"}``.
        drop: descriptors that are not about sound (``"test"``, ``"default"``).
    """

    min_count: int = 5
    merge: dict = field(default_factory=dict)
    drop: list = field(default_factory=list)


def select_terms(data: SafeData, vocab: Vocabulary) -> SafeData:
    """Merge, drop and count-filter terms; returns the kept rows with merged terms."""
    merge = {normalise_term(k): normalise_term(v) for k, v in vocab.merge.items()}
    drop = {normalise_term(t) for t in vocab.drop}
    merged = [merge.get(t, t) for t in data.terms]
    counts = Counter(merged)
    keep = [i for i, t in enumerate(merged) if t and t not in drop and counts[t] >= vocab.min_count]
    if not keep:
        raise DataError(
            f"{data.path}: no term has {vocab.min_count} rows after merging and dropping; "
            "lower data.min_count"
        )
    out = data.subset(keep)
    return SafeData([merged[i] for i in keep], out.params, out.groups, out.ids, out.path)


def term_list(data: SafeData) -> list[str]:
    """Terms by decreasing row count (ties alphabetical): the order of term indices."""
    return [t for t, _ in sorted(data.counts().items(), key=lambda kv: (-kv[1], kv[0]))]


def split_of_group(group: str, val_fraction: float, test_fraction: float, seed: int) -> str:
    """``"train"``, ``"val"`` or ``"test"`` for a group id, stable across runs and row order.

    A hash of (seed, group) mapped to [0, 1) decides, so adding rows never moves old ones.
    """
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test_fraction:
        return "test"
    return "val" if u < test_fraction + val_fraction else "train"


def split_indices(
    data: SafeData, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> dict[str, np.ndarray]:
    """Row indices of the train, val and test splits, grouped by :attr:`SafeData.groups`."""
    names = [split_of_group(g, val_fraction, test_fraction, seed) for g in data.groups]
    return {s: np.array([i for i, n in enumerate(names) if n == s], dtype=int) for s in SPLITS}


def check_bounds(data: SafeData) -> None:
    """Refuse rows outside the physical bounds (a model could never reproduce them)."""
    bad = outside_bounds(data.params).any(-1).nonzero().flatten().tolist()
    if bad:
        raise DataError(
            f"{data.path}: {len(bad)} rows hold values outside the physical bounds (first: "
            f"id {data.ids[bad[0]]}); see `auralab check dataset {data.path}` and fix or "
            "delete them"
        )


class SafeSettings(Dataset):
    """SAFE rows as training items: normalised setting and term index.

    Items: ``{"params": (13,) float32 in [0, 1], "term": int64 index into terms}``.
    """

    def __init__(self, data: SafeData, terms: list[str]):
        index = {t: i for i, t in enumerate(terms)}
        # (N, 13); clamp only absorbs float32 rounding of values stored at a bound
        self.params = normalise(data.params).float().clamp(0, 1)
        self.terms = torch.tensor([index[t] for t in data.terms], dtype=torch.long)  # (N,)

    def __len__(self) -> int:
        return len(self.terms)

    def __getitem__(self, i: int) -> dict:
        return {"params": self.params[i], "term": self.terms[i]}


# ---- the data report behind `auralab check dataset` for a SAFE csv ---------------------------


@dataclass
class SafeReport:
    """What ``check_safe`` found: findings plus the summary a user wants to see."""

    path: str
    n_rows: int
    term_counts: Counter
    ranges: dict[str, tuple[float, float]]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def summary_lines(self, top: int = 15) -> list[str]:
        """Term counts and parameter ranges as printable lines."""
        lines = [f"{self.path}: {self.n_rows} rows, {len(self.term_counts)} distinct terms"]
        common = ", ".join(f"{t} {n}" for t, n in self.term_counts.most_common(top))
        lines.append(f"top terms: {common}")
        for name, (lo, hi) in self.ranges.items():
            lines.append(f"{name:<16}{lo:10.2f} .. {hi:10.2f}")
        return lines


def is_safe_csv(path: str | Path) -> bool:
    """Whether ``path`` looks like the SAFE equaliser csv: a file whose first row has 25
    columns and numbers where the 13 parameters go (no header)."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".csv":
        return False
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        first = next(csv.reader(f), [])
    return len(first) == N_COLUMNS and all(_num(v) for v in first[PARAM_COLUMNS])


def check_safe(path: str | Path) -> SafeReport:
    """Report on a SAFE csv: term counts, parameter ranges, values outside the physical bounds,
    duplicate settings.

    An unreadable file is one error finding instead of an exception, so a checker can list it.
    """
    try:
        data = read_safe_csv(path)
    except DataError as e:
        return SafeReport(str(path), 0, Counter(), {}, [Finding.from_message(str(path), str(e))])
    ranges = {
        n: (float(data.params[:, i].min()), float(data.params[:, i].max()))
        for i, n in enumerate(PARAM_NAMES)
    }
    findings = _bound_findings(data) + _duplicate_findings(data)
    return SafeReport(str(path), len(data), data.counts(), ranges, findings)


def _bound_findings(data: SafeData) -> list[Finding]:
    bad = outside_bounds(data.params).numpy()  # (N, 13)
    out = []
    for row, col in zip(*np.nonzero(bad), strict=True):
        out.append(
            Finding(
                data.path,
                f"id {data.ids[row]}: {PARAM_NAMES[col]}={data.params[row, col]:g} is outside "
                "the physical bounds (20 Hz-20 kHz, Q 0.1-10, +-12 dB)",
                "fix or delete the row; training refuses it",
            )
        )
    return out


def _duplicate_findings(data: SafeData) -> list[Finding]:
    shared = Counter(data.groups)
    repeated = sum(n - 1 for n in shared.values() if n > 1)
    if not repeated:
        return []
    return [
        Finding(
            data.path,
            f"{repeated} rows repeat an earlier row's descriptor and setting",
            "nothing to do: they share a group, so they stay in one split",
            severity="warning",
        )
    ]
