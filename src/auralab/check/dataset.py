"""Labelled clip collections (``auralab check dataset DIR``) and the layouts they come in.

Three layouts are read into one ``ClipTable`` (file, label, group, fold per clip):

* **ESC-50**: ``DIR/audio/*.wav|flac|ogg`` and ``DIR/meta/esc50.csv`` (filename, fold, target,
  category, esc10, src_file, take). The group is ``src_file``: clips cut from one recording.
* **CSV**: ``DIR/*.csv`` (or the CSV itself) with columns ``path`` (or ``filename``/``file``),
  ``label`` (or ``category``/``class``), optionally ``group`` (or ``src_file``/``source``) and
  ``fold``; paths relative to the CSV's folder, or to ``audio/`` beside it.
* **Folders**: ``DIR/<label>/**/*.wav``; no groups or folds.

The table is read tolerantly: every problem (a row without its file, a file without a row, a
label with two target ids, a bad fold) becomes a ``Finding``, so one pass lists them all.
``check_dataset`` then decodes every clip: unreadable files, durations and sample rates, and
duplicated audio by hash of the decoded signal, exact or near-identical.

The table lives here, not in ``auralab.classify``, because checks import nothing from the task
folders; ``auralab.classify.data`` builds its datasets on it.
"""

import csv
import hashlib
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from auralab.audio.files import AUDIO_EXTENSIONS, audio_files
from auralab.audio.io import load
from auralab.check.finding import Finding, errors_first
from auralab.errors import AuralabError, DataError

ESC50_META = Path("meta") / "esc50.csv"
PATH_COLUMNS = ("path", "filename", "file", "slice_file_name")
LABEL_COLUMNS = ("label", "category", "class")
GROUP_COLUMNS = ("group", "src_file", "source", "recording", "fsid")
# ESC-50 file names are {fold}-{source recording}-{take}-{target}.ext: the group can be read
# back from a name even when a CSV lost its src_file column.
ESC50_NAME = re.compile(r"^(\d+)-(\w+?)-([A-Z])-(\d+)$")

# Near-identical audio: a binary fingerprint (signs of band-energy differences across time and
# frequency, Haitsma & Kalker 2002) at FP_SR Hz in FP_HOP_S frames, FP_BANDS log-spaced bands
# between FP_LOW_HZ and FP_HIGH_HZ (the band every codec and resampler keeps). Gain does not
# change it, nor does noise well below the signal; another clip does.
FP_SR = 8000
FP_HOP_S = 0.05
FP_BANDS = 17  # 16 difference bits per frame
FP_LOW_HZ, FP_HIGH_HZ = 150.0, 3400.0
FP_MAX_S = 10.0  # the first 10 s are compared: enough to tell clips apart
FP_ACTIVE_DB = -30.0  # frames quieter than this below the clip's loudest are not compared
# Two clips are compared over the frames active in both, which must be at least MIN_COMMON_FRAMES
# and MIN_OVERLAP of the shorter clip's active frames. Bit error rate at or below NEAR_BER means
# the same audio. Measured on ESC-10 (../shared/data/esc10, 400 clips, 73,510 comparable pairs):
# distinct clips (takes of one recording included) 0.28 at the least, median 0.50, apart from
# one true duplicate that ESC-10 files under two recordings (2-28314-A-12 / 2-30322-A-12: 0.11,
# waveform correlation 0.97). Copies of 40 clips: +-6 dB gain and a 4 kHz low-pass 0.00, white
# noise at 30 dB SNR 0.18 at most (90th percentile 0.09); at 20 dB SNR up to 0.25, so copies
# drowned that far are not promised. 0.2 sits between the two.
NEAR_BER = 0.2
MIN_COMMON_FRAMES = 5  # 0.25 s: the shortest ESC-10 event (a dog bark) has 5 active frames
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class Clip:
    """One labelled clip.

    Attributes:
        id: the clip's name in the table (file name or path as written in the CSV).
        path: the audio file.
        label: class name.
        group: source recording shared by clips cut from it (None when unknown).
        fold: official fold number (None when the layout has none).
    """

    id: str
    path: Path
    label: str
    group: str | None = None
    fold: int | None = None


@dataclass
class ClipTable:
    """A dataset's clips and what was wrong with its table.

    Attributes:
        root: the folder (or CSV) it was read from.
        layout: ``"esc50"``, ``"csv"`` or ``"folders"``.
        clips: rows whose file exists, in table order.
        labels: class names in label-index order (ESC-50: by target id; otherwise sorted).
        findings: problems met while reading (missing files, unlisted files, bad values).
    """

    root: Path
    layout: str
    clips: list[Clip]
    labels: list[str]
    findings: list[Finding] = field(default_factory=list)

    @property
    def has_folds(self) -> bool:
        return bool(self.clips) and all(c.fold is not None for c in self.clips)

    @property
    def has_groups(self) -> bool:
        return bool(self.clips) and all(c.group is not None for c in self.clips)

    def label_index(self, clip: Clip) -> int:
        return self.labels.index(clip.label)

    def select(self, keep) -> "ClipTable":
        """A table of the clips for which ``keep(clip)`` is true (same labels)."""
        return ClipTable(self.root, self.layout, [c for c in self.clips if keep(c)], self.labels)


def read_table(path: str | os.PathLike) -> ClipTable:
    """Read a dataset in any of the three layouts (see the module docstring).

    Raises:
        DataError: the path does not exist, or holds none of the layouts.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return _read_csv(path)
    if not path.is_dir():
        raise DataError(f"{path}: no such dataset folder or CSV; check the path")
    if (path / ESC50_META).is_file():
        return _read_csv(path / ESC50_META)
    tables = sorted(path.glob("*.csv"))
    if len(tables) == 1:
        return _read_csv(tables[0])
    if len(tables) > 1:
        names = ", ".join(t.name for t in tables)
        raise DataError(f"{path}: several CSV files ({names}); pass the one that lists the clips")
    return _read_folders(path)


# --- layouts ----------------------------------------------------------------------------------


def _read_csv(csv_path: Path) -> ClipTable:
    rows, header = _csv_rows(csv_path)
    cols = _columns(csv_path, header)
    esc50 = {"filename", "fold", "target", "category", "src_file"} <= set(header)
    audio_dir = csv_path.parent.parent / "audio" if esc50 else csv_path.parent
    if not esc50 and (csv_path.parent / "audio").is_dir():
        audio_dir = csv_path.parent / "audio"
    root = csv_path.parent.parent if esc50 else csv_path.parent
    findings: list[Finding] = []
    clips = []
    for line, row in rows:
        clip = _row_clip(row, cols, audio_dir, f"{csv_path}:{line}", findings)
        if clip is not None:
            clips.append(clip)
    findings += _unlisted_files(audio_dir, clips, csv_path)
    if esc50:
        findings += _target_consistency(rows, csv_path)
        labels = _labels_by_target(rows)
    else:
        labels = sorted({c.label for c in clips})
    table = ClipTable(root, "esc50" if esc50 else "csv", clips, labels, findings)
    table.findings += _label_and_fold_findings(table, csv_path)
    return table


def _csv_rows(csv_path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = [
                (i + 2, {k.strip(): (v or "").strip() for k, v in row.items() if k})
                for i, row in enumerate(reader)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{csv_path}: cannot be read as CSV ({e}); save it as UTF-8 CSV") from None
    if not rows:
        raise DataError(f"{csv_path}: has no rows; list one clip per row (path,label[,group])")
    return rows, header


def _columns(csv_path: Path, header: list[str]) -> dict[str, str | None]:
    def pick(options, what, required):
        found = next((c for c in options if c in header), None)
        if found is None and required:
            raise DataError(
                f"{csv_path}: no {what} column (header: {', '.join(header)}); name one of them "
                f"{' or '.join(options)}"
            )
        return found

    return {
        "path": pick(PATH_COLUMNS, "file", True),
        "label": pick(LABEL_COLUMNS, "label", True),
        "group": pick(GROUP_COLUMNS, "group", False),
        "fold": "fold" if "fold" in header else None,
    }


def _row_clip(row: dict, cols: dict, audio_dir: Path, where: str, findings: list) -> Clip | None:
    name, label = row.get(cols["path"], ""), row.get(cols["label"], "")
    if not name or not label:
        findings.append(Finding(where, "row has no file or no label", "fill in both or drop it"))
        return None
    path = audio_dir / name
    if not path.is_file():
        findings.append(
            Finding(
                where, f"{name}: listed, but {path} does not exist", "add the file or drop the row"
            )
        )
        return None
    fold = _fold(row.get(cols["fold"], "") if cols["fold"] else None, where, findings)
    group = row.get(cols["group"]) if cols["group"] else None
    return Clip(name, path, label, group or _group_from_name(name), fold)


def _fold(value: str | None, where: str, findings: list) -> int | None:
    if value is None:
        return None
    try:
        fold = int(value)
        if fold < 1:
            raise ValueError
        return fold
    except ValueError:
        findings.append(
            Finding(where, f"fold {value!r} is not a whole number >= 1", "number folds 1, 2, ...")
        )
        return None


def _group_from_name(name: str) -> str | None:
    m = ESC50_NAME.match(Path(name).stem)
    return m.group(2) if m else None


def _unlisted_files(audio_dir: Path, clips: list[Clip], csv_path: Path) -> list[Finding]:
    listed = {c.path.resolve() for c in clips}
    try:
        found = audio_files(audio_dir)
    except DataError:
        return []
    return [
        Finding(str(p), f"audio file has no row in {csv_path}", "add a row for it or remove it")
        for p in found
        if p.resolve() not in listed
    ]


def _target_consistency(rows: list[tuple[int, dict]], csv_path: Path) -> list[Finding]:
    targets = defaultdict(set)
    categories = defaultdict(set)
    for _, row in rows:
        targets[row["category"]].add(row["target"])
        categories[row["target"]].add(row["category"])
    bad = [f"category {c!r} has targets {sorted(t)}" for c, t in targets.items() if len(t) > 1]
    bad += [f"target {t} names {sorted(c)}" for t, c in categories.items() if len(c) > 1]
    fix = "give each category exactly one target id"
    return [Finding(str(csv_path), b, fix) for b in bad]


def _labels_by_target(rows: list[tuple[int, dict]]) -> list[str]:
    first = {}
    for _, row in rows:
        try:
            first.setdefault(row["category"], int(row["target"]))
        except ValueError:
            first.setdefault(row["category"], 10**9)
    return sorted(first, key=lambda c: (first[c], c))


def _read_folders(root: Path) -> ClipTable:
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    clips = []
    for d in classes:
        try:
            files = audio_files(d)
        except DataError:
            continue
        clips += [
            Clip(p.relative_to(root).as_posix(), p, d.name, _group_from_name(p.name)) for p in files
        ]
    if not clips:
        exts = "/".join(e[1:] for e in AUDIO_EXTENSIONS)
        raise DataError(
            f"{root}: neither meta/esc50.csv, a CSV of path,label[,group], nor class folders "
            f"holding {exts} files; lay the dataset out in one of these"
        )
    stray = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS]
    findings = [
        Finding(str(p), "audio file outside any class folder", "move it into its class folder")
        for p in stray
    ]
    table = ClipTable(root, "folders", clips, sorted({c.label for c in clips}), findings)
    table.findings += _label_and_fold_findings(table, root)
    return table


def _label_and_fold_findings(table: ClipTable, where: Path) -> list[Finding]:
    findings = []
    counts = Counter(c.label for c in table.clips)
    for label, n in sorted(counts.items()):
        if n < 2:
            findings.append(
                Finding(
                    str(where),
                    f"label {label!r} has only {n} clip",
                    "add clips or drop it (one clip cannot be both trained and tested)",
                    "warning",
                )
            )
    if not table.has_folds:
        return findings
    folds = sorted({c.fold for c in table.clips})
    per_fold = Counter((c.fold, c.label) for c in table.clips)
    for label in table.labels:
        absent = [f for f in folds if per_fold[(f, label)] == 0]
        if absent:
            findings.append(
                Finding(
                    str(where),
                    f"label {label!r} has no clip in fold(s) {absent}",
                    "spread every class over every fold (stratify)",
                    "warning",
                )
            )
    findings += _groups_across_folds(table, where)
    return findings


def _groups_across_folds(table: ClipTable, where: Path) -> list[Finding]:
    folds_of = defaultdict(set)
    for c in table.clips:
        if c.group is not None:
            folds_of[c.group].add(c.fold)
    return [
        Finding(
            str(where),
            f"source recording {g} sits in folds {sorted(f)}",
            "keep all clips of one recording in one fold, or folds test on training audio",
        )
        for g, f in sorted(folds_of.items())
        if len(f) > 1
    ]


# --- decoded audio: hashes and fingerprints ---------------------------------------------------


@dataclass
class ClipAudio:
    """What decoding one clip gave: rate, length, and hashes of its signal."""

    clip: Clip
    sr: int = 0
    channels: int = 0
    seconds: float = 0.0
    digest: str = ""  # sha256 of the decoded samples: equal means the same signal exactly
    fingerprint: np.ndarray | None = None  # (frames, FP_BANDS - 1) bool
    active: np.ndarray | None = None  # (frames,) bool: frames loud enough to compare
    error: str = ""


def decode_clip(clip: Clip) -> ClipAudio:
    """Decode a clip and compute its exact hash and near-identity fingerprint."""
    out = ClipAudio(clip)
    try:
        wav, sr = load(clip.path, mono=False)
    except AuralabError as e:
        out.error = str(e)
        return out
    wav = wav if wav.dim() == 2 else wav[None]  # (C, T)
    out.sr, out.channels, out.seconds = sr, wav.shape[0], wav.shape[1] / sr
    out.digest = hashlib.sha256(wav.numpy().tobytes()).hexdigest()
    out.fingerprint, out.active = fingerprint(wav.mean(dim=0).numpy(), sr)
    return out


def fingerprint(wav: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Binary audio fingerprint of a mono waveform.

    Args:
        wav: ``(T,)`` waveform at ``sr`` Hz.
        sr: its sample rate in Hz.

    Returns:
        ``(bits, active)``: ``bits`` ``(frames, FP_BANDS - 1)`` bool, the sign of each band-energy
        difference's change since the previous frame; ``active`` ``(frames,)`` bool, frames within
        ``FP_ACTIVE_DB`` of the loudest (silence carries no identity).
    """
    import torch

    from auralab.audio.resample import resample

    x = resample(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)), sr, FP_SR, "MQ")
    x = x.numpy()[: int(FP_MAX_S * FP_SR)]
    hop, win = int(FP_HOP_S * FP_SR), int(2 * FP_HOP_S * FP_SR)
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop] * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (N, win/2 + 1)
    edges = np.geomspace(FP_LOW_HZ, FP_HIGH_HZ, FP_BANDS + 1)
    bins = np.fft.rfftfreq(win, 1 / FP_SR)
    bands = np.stack(
        [
            power[:, (bins >= lo) & (bins < hi)].sum(axis=1)
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ],
        axis=1,
    )  # (N, FP_BANDS)
    db = 10 * np.log10(bands + 1e-12)
    diff = db[:, :-1] - db[:, 1:]  # spectral slope per frame, gain-free
    bits = np.zeros_like(diff, dtype=bool)
    bits[1:] = (diff[1:] - diff[:-1]) > 0
    level = 10 * np.log10(bands.sum(axis=1) + 1e-12)
    active = level > level.max() + FP_ACTIVE_DB
    active[0] = False
    return bits, active


def near_identical_pairs(
    left: list[ClipAudio], right: list[ClipAudio] | None = None
) -> list[tuple[int, int, float]]:
    """Pairs of clips whose fingerprints match (bit error rate <= ``NEAR_BER``).

    Args:
        left: decoded clips.
        right: other decoded clips; ``None`` compares ``left`` with itself (each pair once).

    Returns:
        ``(i, j, ber)``: index into ``left``, index into ``right`` (or ``left``), bit error rate.
    """
    same = right is None
    right = left if same else right
    if not left or not right:
        return []
    ber, both, shorter = fingerprint_distances(left, right)
    ok = (ber <= NEAR_BER) & (both >= MIN_COMMON_FRAMES) & (both >= MIN_OVERLAP * shorter)
    if same:
        ok &= np.triu(np.ones_like(ok, dtype=bool), 1)
    return [(int(i), int(j), float(ber[i, j])) for i, j in zip(*np.nonzero(ok), strict=True)]


def fingerprint_distances(
    left: list[ClipAudio], right: list[ClipAudio]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bit error rates between every left and right fingerprint, over frames active in both.

    Returns:
        ``(ber, both, shorter)``, each ``(L, R)``: bit error rate, frames active in both, and
        the smaller of the two clips' active frame counts.
    """
    a, ma = _stack_fingerprints(left)
    b, mb = _stack_fingerprints(right)
    n = max(a.shape[1], b.shape[1])  # pad both to one frame count
    a, ma = _pad_frames(a, ma, n)
    b, mb = _pad_frames(b, mb, n)
    k = a.shape[2]
    both = ma @ mb.T  # (L, R) frames active in both
    shorter = np.minimum(ma.sum(1)[:, None], mb.sum(1)[None, :])
    # Bits differing over frames active in both: sum(a) + sum(b) - 2 sum(a b), masked.
    am = (a * ma[:, :, None]).reshape(len(left), -1)
    bm = (b * mb[:, :, None]).reshape(len(right), -1)
    ones_a = np.repeat(ma, k, axis=1)
    ones_b = np.repeat(mb, k, axis=1)
    differ = am @ ones_b.T + ones_a @ bm.T - 2 * (am @ bm.T)
    return differ / np.maximum(k * both, 1), both, shorter


def _pad_frames(bits: np.ndarray, mask: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    extra = n - bits.shape[1]
    return np.pad(bits, ((0, 0), (0, extra), (0, 0))), np.pad(mask, ((0, 0), (0, extra)))


def _stack_fingerprints(items: list[ClipAudio]) -> tuple[np.ndarray, np.ndarray]:
    """``(N, frames, bits)`` fingerprints and ``(N, frames)`` activity, zero-padded."""
    usable = [x for x in items if x.fingerprint is not None]
    n = max((x.fingerprint.shape[0] for x in usable), default=0)
    k = FP_BANDS - 1
    bits = np.zeros((len(items), n, k), np.float32)
    mask = np.zeros((len(items), n), np.float32)
    for i, x in enumerate(items):
        if x.fingerprint is not None:
            bits[i, : len(x.fingerprint)] = x.fingerprint
            mask[i, : len(x.active)] = x.active
    return bits, mask


def decode_all(clips: list[Clip], workers: int = 1) -> list[ClipAudio]:
    """``decode_clip`` over many clips, in threads (decoding releases the GIL)."""
    if workers <= 1:
        return [decode_clip(c) for c in clips]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(decode_clip, clips))


# --- the check --------------------------------------------------------------------------------


@dataclass
class DatasetReport:
    """What ``check_dataset`` found.

    Attributes:
        table: the clips as read.
        findings: every problem, errors first.
        rates: sample rate in Hz -> number of clips.
        seconds: (min, median, max) clip duration.
    """

    table: ClipTable
    findings: list[Finding]
    rates: dict[int, int]
    seconds: tuple[float, float, float]

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


def check_dataset(path: str | os.PathLike, workers: int = 1) -> DatasetReport:
    """Check a labelled clip collection before training on it.

    Reads the table (rows against files, labels, folds, groups across folds), decodes every
    clip (unreadable files, durations, sample rates, channels) and finds duplicated audio: exact
    (same decoded signal) and near-identical (fingerprints within ``NEAR_BER``).

    Args:
        path: dataset folder (ESC-50, CSV or folder-per-class layout) or its CSV.
        workers: threads decoding clips.

    Raises:
        DataError: no dataset at ``path``.
    """
    table = read_table(path)
    decoded = decode_all(table.clips, workers)
    findings = list(table.findings)
    findings += [
        Finding(str(d.clip.path), d.error, "fix or drop the file") for d in decoded if d.error
    ]
    ok = [d for d in decoded if not d.error]
    findings += duplicate_findings(ok)
    findings += _format_findings(ok)
    rates = dict(sorted(Counter(d.sr for d in ok).items()))
    secs = np.array([d.seconds for d in ok]) if ok else np.zeros(1)
    stats = (float(secs.min()), float(np.median(secs)), float(secs.max()))
    return DatasetReport(table, errors_first(findings), rates, stats)


def duplicate_findings(decoded: list[ClipAudio]) -> list[Finding]:
    """Clips holding the same audio as another clip of the same dataset."""
    findings = []
    by_digest = defaultdict(list)
    for d in decoded:
        by_digest[d.digest].append(d)
    exact = set()
    for copies in by_digest.values():
        for d in copies[1:]:
            exact.add((copies[0].clip.id, d.clip.id))
            findings.append(_duplicate(d, copies[0], "the same decoded audio as"))
    for i, j, ber in near_identical_pairs(decoded):
        a, b = decoded[i], decoded[j]
        if (a.clip.id, b.clip.id) not in exact and (b.clip.id, a.clip.id) not in exact:
            findings.append(
                _duplicate(b, a, f"near-identical audio (fingerprint BER {ber:.2f}) to")
            )
    return findings


def _duplicate(d: ClipAudio, first: ClipAudio, how: str) -> Finding:
    a, b = d.clip, first.clip
    problem = f"holds {how} {b.id}"
    if a.label != b.label:
        problem += f" but is labelled {a.label!r}, not {b.label!r}"
        return Finding(str(a.path), problem, "keep one copy with the right label")
    if a.fold is not None and a.fold == b.fold:
        # Both in one fold: no leak, only a clip counted twice; worth knowing, not fatal.
        problem += f" (both in fold {a.fold})"
        return Finding(str(a.path), problem, "drop one copy (it is counted twice)", "warning")
    if a.group is not None and a.group == b.group and a.fold is None:
        return Finding(
            str(a.path), problem + f" (same group {a.group})", "drop one copy", "warning"
        )
    where = f"folds {a.fold} and {b.fold}" if a.fold is not None else "different groups"
    return Finding(
        str(a.path),
        f"{problem}, in {where}: one split can test on the other's training audio",
        "drop the copy, or give both one group and one fold",
    )


def _format_findings(decoded: list[ClipAudio]) -> list[Finding]:
    rates = Counter(d.sr for d in decoded)
    findings = []
    if len(rates) > 1:
        common = rates.most_common(1)[0][0]
        for d in decoded:
            if d.sr != common:
                findings.append(
                    Finding(
                        str(d.clip.path),
                        f"sample rate {d.sr} Hz, most clips are {common} Hz",
                        "fine for training (clips are resampled to data.sr), but check it is meant",
                        "warning",
                    )
                )
    return findings
