"""Leakage audit of a split: ``auralab check splits TRAIN VAL`` or ``auralab check splits DATASET``.

A split leaks when validation can be answered from memory of training data:

* **the same file** on both sides (same path, or same clip id in both tables);
* **the same source recording** on both sides (clips cut from one recording share its
  microphone, room and sound source; ESC-50 keeps them in one fold for this reason);
* **the same audio** on both sides under different names: identical decoded signals, or
  near-identical ones (a re-encoded, re-levelled or lightly noised copy), found by the
  fingerprint of ``auralab.check.dataset``.

Either two tables (a train and a validation CSV or dataset folder) are compared, or one table's
``fold`` column, every fold against all the others. Every leak is a ``Finding`` naming the
validation clip and its training twin.
"""

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from auralab.check.dataset import (
    ClipAudio,
    ClipTable,
    decode_all,
    near_identical_pairs,
    read_table,
)
from auralab.check.finding import Finding
from auralab.errors import DataError

FIX_FILE = "remove it from one side"
FIX_GROUP = "keep every clip of one source recording on one side (split by group, not by clip)"
FIX_AUDIO = "drop the copy, or give both clips one group so the split keeps them together"


@dataclass
class SplitReport:
    """What ``check_split`` / ``check_folds`` found.

    Attributes:
        findings: one per leak (all errors), plus warnings about what could not be checked.
        n_train, n_val: clips compared (for folds: clips in all folds, counted once).
        leaked_ids: validation clip ids involved in any leak, sorted.
    """

    findings: list[Finding]
    n_train: int
    n_val: int
    leaked_ids: list[str]

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


def check_split(
    train: str | os.PathLike | ClipTable,
    val: str | os.PathLike | ClipTable,
    audio: bool = True,
    workers: int = 1,
) -> SplitReport:
    """Audit a train/validation split for shared files, recordings and audio.

    Args:
        train, val: CSV files or dataset folders (any layout ``read_table`` reads), or tables.
        audio: also decode every clip and compare the signals (slower, finds renamed copies).
        workers: threads decoding clips.
    """
    tr, va = _table(train), _table(val)
    findings = _shared_files(tr, va) + _shared_groups(tr, va)
    if audio:
        findings += _shared_audio(decode_all(tr.clips, workers), decode_all(va.clips, workers))
    findings += _unchecked(tr, va)
    return SplitReport(findings, len(tr.clips), len(va.clips), _ids(findings))


def check_folds(
    dataset: str | os.PathLike | ClipTable, audio: bool = True, workers: int = 1
) -> SplitReport:
    """Audit a table's ``fold`` column: each fold as validation against all other folds.

    Raises:
        DataError: the table has no fold column.
    """
    table = _table(dataset)
    if not table.has_folds:
        raise DataError(
            f"{table.root}: no fold column to audit; pass a train and a validation table instead"
        )
    decoded = decode_all(table.clips, workers) if audio else []
    findings = []
    for k in sorted({c.fold for c in table.clips}):
        # Each cross-fold leak would be found twice (fold a vs b, then b vs a): keep a < b.
        tr = table.select(lambda c, k=k: c.fold > k)
        va = table.select(lambda c, k=k: c.fold == k)
        findings += _shared_files(tr, va) + _shared_groups(tr, va, k)
        if audio:
            later = [d for d in decoded if d.clip.fold > k]
            findings += _shared_audio(later, [d for d in decoded if d.clip.fold == k])
    findings += _unchecked(table, table)
    return SplitReport(findings, len(table.clips), len(table.clips), _ids(findings))


def _table(x) -> ClipTable:
    return x if isinstance(x, ClipTable) else read_table(x)


def _shared_files(tr: ClipTable, va: ClipTable) -> list[Finding]:
    by_path = {c.path.resolve(): c for c in tr.clips}
    by_id = {c.id: c for c in tr.clips}
    findings = []
    for c in va.clips:
        twin = by_path.get(c.path.resolve()) or by_id.get(c.id)
        if twin is not None:
            where = "the same file" if twin.path.resolve() == c.path.resolve() else "the same id"
            findings.append(
                Finding(str(c.path), f"clip {c.id} is also in train ({where}: {twin.id})", FIX_FILE)
            )
    return findings


def _shared_groups(tr: ClipTable, va: ClipTable, fold: int | None = None) -> list[Finding]:
    train_groups = defaultdict(list)
    for c in tr.clips:
        if c.group is not None:
            train_groups[c.group].append(c)
    val_groups = defaultdict(list)
    for c in va.clips:
        if c.group is not None and c.group in train_groups:
            val_groups[c.group].append(c)
    findings = []
    for g, clips in sorted(val_groups.items()):
        others = train_groups[g]
        side = f"fold {fold}" if fold is not None else "val"
        other_side = "later folds" if fold is not None else "train"
        problem = (
            f"source recording {g} is on both sides: {side} has {_names(clips)}, "
            f"{other_side} {_names(others)}"
        )
        findings.append(Finding(str(clips[0].path), problem, FIX_GROUP))
    return findings


def _shared_audio(train: list[ClipAudio], val: list[ClipAudio]) -> list[Finding]:
    train = [d for d in train if not d.error]
    val = [d for d in val if not d.error]
    findings, seen = [], set()
    by_digest = {d.digest: d for d in train}
    for d in val:
        twin = by_digest.get(d.digest)
        if twin is not None and twin.clip.path.resolve() != d.clip.path.resolve():
            seen.add((d.clip.id, twin.clip.id))
            findings.append(_audio_leak(d, twin, "the same decoded audio as"))
    for i, j, ber in near_identical_pairs(val, train):
        d, twin = val[i], train[j]
        if (d.clip.id, twin.clip.id) in seen or d.clip.path.resolve() == twin.clip.path.resolve():
            continue
        if d.clip.group is not None and d.clip.group == twin.clip.group:
            continue  # already reported as a shared recording
        findings.append(_audio_leak(d, twin, f"near-identical audio (BER {ber:.2f}) to"))
    return findings


def _audio_leak(d: ClipAudio, twin: ClipAudio, how: str) -> Finding:
    return Finding(
        str(d.clip.path), f"clip {d.clip.id} holds {how} train clip {twin.clip.id}", FIX_AUDIO
    )


def _unchecked(tr: ClipTable, va: ClipTable) -> list[Finding]:
    if tr.has_groups and va.has_groups:
        return []
    where = tr.root if not tr.has_groups else va.root
    return [
        Finding(
            str(where),
            "some clips have no group (source recording): clips cut from one recording cannot "
            "be told apart",
            "add a group column (src_file) so the split can be audited by recording",
            "warning",
        )
    ]


def _names(clips, limit: int = 4) -> str:
    ids = [c.id for c in clips]
    return ", ".join(ids[:limit]) + (f" (+{len(ids) - limit})" if len(ids) > limit else "")


def _ids(findings: list[Finding]) -> list[str]:
    return sorted({Path(f.file).name for f in findings if f.is_error})
