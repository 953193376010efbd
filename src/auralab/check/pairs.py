"""Integrity preflight for paired noisy/clean speech folders.

Train and evaluate call :func:`check_pairs` before touching paired data: a swapped pair, a 10 ms
offset or a 48 kHz file among 16 kHz ones does not crash anything, it silently makes every
number wrong. The check reads every pair, never stops at the first bad file, and returns one
:class:`~auralab.check.finding.Finding` per problem.

Thresholds were calibrated on the shared VoiceBank-DEMAND pairs (``pairs/vbd-test10``, 17.5 to
2.5 dB SNR, and ``pairs/vbd-train6``); the measured values are next to each constant.
"""

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import scipy.fft

from auralab.audio.files import AUDIO_EXTENSIONS, relative_audio
from auralab.audio.io import load
from auralab.check.finding import Finding, errors_first
from auralab.errors import AudioError, ConfigError, DataError

# Alignment and similarity are measured on pre-emphasised signals (x[t] - 0.97 x[t-1]). Speech
# and most recorded noise are dominated by low frequencies, whose broad autocorrelation makes the
# cross-correlation peak blunt: without pre-emphasis a 1-sample shift still keeps 96 % of the peak
# at lag 0 and two unrelated utterances reach |rho| = 0.15. Pre-emphasis whitens roughly, so the
# peak gets sharp and unrelated speech falls to |rho| <= 0.06.
PRE_EMPHASIS = 0.97

# Pairs whose best |rho| (pre-emphasised, within +-max_lag) is below this are not one utterance.
# Measured: real pairs 0.64-0.998 (lowest: p232_010 at 2.5 dB, then p287_004 at 0.69); swapped
# pairs (all 90 + 30 cross pairings within vbd-test10 and vbd-train6) at most 0.061, median
# 0.025. 0.2 sits about 3x away from both. The residual SNR after optimal scaling (reported with
# the finding) tells the same story, -0.8 to 16.8 dB for real pairs against -16.5 dB at best for
# swapped ones, but it is measured on raw signals where low-frequency noise blurs the gap, so
# the decision uses the correlation. 0.2 is a residual SNR near -14 dB: real pairs mixed well
# below 0 dB SNR still pass.
MIN_CORRELATION = 0.2

# A non-zero best lag is reported only when the unshifted correlation is clearly below the peak:
# |rho(0)| < (1 - LAG_MARGIN) |rho(lag)|. Measured: all 16 real pairs (and the 24 kHz noisy files
# resampled to 16 kHz) peak at exactly lag 0; shifted by 1 sample, rho(0) keeps at most 0.71 of
# the peak (p232_010, 2.5 dB), shifted by 160 samples at most 0.12. The margin keeps near-ties,
# from noise or a fractional resampler delay, from being reported as a 1-sample lag.
LAG_MARGIN = 0.1

CLIP_LEVEL = 0.999  # |x| at or above this counts as full scale (PCM_16 peaks at 0.99997)
MAX_CLIPPED_FRACTION = 0.001  # flat runs at full scale over 0.1 % of samples: clipped source
SILENCE_DBFS = -60.0  # quieter than this holds no usable speech (VoiceBank clean: about -26)


@dataclass
class CheckReport:
    """What a check found.

    Attributes:
        findings: every problem, errors first.
        n_pairs: names checked (the union of both folders; an unpaired file is a broken pair).
        n_ok: names with no error (warnings allowed).
    """

    findings: list[Finding]
    n_pairs: int
    n_ok: int

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.is_error for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]


@dataclass
class _Audio:
    path: Path
    role: str  # "noisy" or "clean"
    wav: np.ndarray  # (C, T) float32
    sr: int
    digest: str

    @property
    def mono(self) -> np.ndarray:  # (T,) float64, for sums that must not lose precision
        return self.wav[0].astype(np.float64)


@dataclass
class _PairResult:
    rel: str
    findings: list[Finding] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # role -> digest of decoded samples


def check_pairs(
    noisy_dir: str | os.PathLike,
    clean_dir: str | os.PathLike,
    sr: int | None = None,
    max_lag_ms: float = 50.0,
    workers: int = 1,
    progress: bool = False,
) -> CheckReport:
    """Check that two folders hold usable noisy/clean pairs.

    Files (WAV, FLAC, OGG, MP3, searched recursively) are paired by their path relative to each
    folder. Every pair is decoded and checked for: unreadable, empty or non-finite files;
    multichannel files; sample rates that differ between the two sides or from ``sr``; lengths
    that differ; a time lag between noisy and clean; a clean file that is not the utterance in
    the noisy one; clipping, silence, and noisy identical to clean. Each folder is also checked
    for files without a partner and for duplicated audio.

    Args:
        noisy_dir: folder of noisy mixtures.
        clean_dir: folder of clean references.
        sr: expected sample rate in Hz; ``None`` only requires both sides of a pair to agree.
        max_lag_ms: largest noisy/clean offset searched, in ms. A pair offset by more looks like
            two different utterances.
        workers: threads decoding and comparing pairs.
        progress: show a progress bar on stderr.

    Returns:
        A :class:`CheckReport`; the check itself never stops at a bad file.

    Raises:
        DataError: a folder is missing or neither holds audio.
        ConfigError: ``sr``, ``max_lag_ms`` or ``workers`` out of range.
    """
    _check_options(sr, max_lag_ms, workers)
    dirs = {"noisy": _folder(noisy_dir, "noisy"), "clean": _folder(clean_dir, "clean")}
    files = {role: _audio_files(d) for role, d in dirs.items()}
    if not files["noisy"] and not files["clean"]:
        exts = "/".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        raise DataError(
            f"{dirs['noisy']} and {dirs['clean']}: no {exts} files found; check the folders"
        )
    names = sorted(files["noisy"] | files["clean"])
    # Unpaired files are decoded too: a corrupt or silent one deserves its own line.
    job = partial(_check_pair, dirs=dirs, sides=files, sr=sr, max_lag_ms=max_lag_ms)
    results = {r.rel: r for r in _run_jobs(job, names, workers, progress)}
    for rel in sorted(files["noisy"] ^ files["clean"]):
        results[rel].findings.insert(0, _unpaired(rel, dirs, files))
    for role in dirs:
        _flag_duplicates(results, dirs[role], role)
    findings = errors_first(f for r in results.values() for f in r.findings)
    n_ok = sum(not any(f.is_error for f in r.findings) for r in results.values())
    return CheckReport(findings, len(results), n_ok)


# --- folders and pairing ------------------------------------------------------------------------


def _check_options(sr: int | None, max_lag_ms: float, workers: int) -> None:
    if sr is not None and (int(sr) != sr or sr <= 0):
        raise ConfigError(f"sr={sr}: expected a positive sample rate in Hz, or None")
    if not 0 <= max_lag_ms <= 10_000:
        raise ConfigError(f"max_lag_ms={max_lag_ms}: expected 0 to 10000 ms (default 50)")
    if int(workers) != workers or workers < 1:
        raise ConfigError(f"workers={workers}: expected a positive whole number")


def _folder(path: str | os.PathLike, role: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: {role} folder does not exist; check the path")
    if not path.is_dir():
        raise DataError(f"{path}: {role} folder is a file, not a folder; pass the folder")
    return path


def _audio_files(folder: Path) -> set[str]:
    """Relative POSIX paths of the audio files under ``folder`` (none: empty set)."""
    try:
        return set(relative_audio(folder))
    except DataError:
        return set()


def _unpaired(rel: str, dirs: dict[str, Path], files: dict[str, set[str]]) -> Finding:
    role, other = ("noisy", "clean") if rel in files["noisy"] else ("clean", "noisy")
    stem = Path(rel).with_suffix("").as_posix()
    # A partner under another extension (x.wav vs x.flac) is the usual cause: say so.
    alike = sorted(r for r in files[other] if Path(r).with_suffix("").as_posix() == stem)
    hint = f" ({other} has {', '.join(alike)}: same name, other extension)" if alike else ""
    return Finding(
        str(dirs[role] / rel),
        f"has no {other} partner: {dirs[other] / rel} does not exist{hint}",
        f"add the {other} file under the same relative path, or remove this one",
    )


def _run_jobs(
    job: Callable[[str], _PairResult], items: list[str], workers: int, progress: bool
) -> Iterator[_PairResult]:
    # Threads suffice: decoding (libsndfile) and numpy FFTs release the GIL.
    if workers == 1:
        results: Iterable[_PairResult] = map(job, items)
        pool = None
    else:
        pool = ThreadPoolExecutor(max_workers=workers)
        results = pool.map(job, items)
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(items), desc="check pairs", unit="pair")
    try:
        yield from results
    finally:
        if pool is not None:
            pool.shutdown()


def _flag_duplicates(results: dict[str, _PairResult], folder: Path, role: str) -> None:
    first: dict[str, str] = {}
    for rel, result in results.items():  # sorted by name: the later name is the copy
        digest = result.digests.get(role)
        if digest is None:
            continue
        if digest not in first:
            first[digest] = rel
            continue
        result.findings.append(_duplicate(folder / rel, folder / first[digest], role))


def _duplicate(path: Path, original: Path, role: str) -> Finding:
    problem = f"has the same audio as {original}"
    if role == "clean":
        # One clean utterance mixed with several noises is a legitimate design (DNS-style sets).
        fix = "fine if one utterance is mixed with several noises, otherwise remove the copy"
        return Finding(str(path), problem, fix, "warning")
    # Two identical mixtures paired with different names: at least one pair is wrong, or a pair
    # is counted twice.
    return Finding(str(path), problem, "remove the copy or put the intended file in its place")


# --- one pair -----------------------------------------------------------------------------------


def _check_pair(
    rel: str,
    dirs: dict[str, Path],
    sides: dict[str, set[str]],
    sr: int | None,
    max_lag_ms: float,
) -> _PairResult:
    result = _PairResult(rel)
    audio: dict[str, _Audio | None] = {"noisy": None, "clean": None}
    for role, folder in dirs.items():
        if rel not in sides[role]:
            continue  # unpaired: reported by the caller
        audio[role], findings = _read(folder / rel, role, sr)
        result.findings += findings
        if audio[role] is not None:
            result.digests[role] = audio[role].digest
    noisy, clean = audio["noisy"], audio["clean"]
    # Pair comparisons need both sides decoded and mono; a file error is already reported.
    if noisy and clean and noisy.wav.shape[0] == 1 and clean.wav.shape[0] == 1:
        result.findings += _compare(noisy, clean, sr, max_lag_ms)
    return result


def _read(path: Path, role: str, sr: int | None) -> tuple[_Audio | None, list[Finding]]:
    """Decode a file and check it alone; a file that cannot be decoded becomes a Finding."""
    try:
        wav, file_sr = load(path, mono=False)  # (C, T), no resampling
    except AudioError as e:
        return None, [Finding.from_message(str(path), str(e))]
    x = np.ascontiguousarray(wav.numpy())
    digest = hashlib.blake2b(f"{file_sr}:{x.shape}".encode() + x.tobytes(), digest_size=16)
    audio = _Audio(path, role, x, int(file_sr), digest.hexdigest())
    return audio, _file_findings(audio, sr)


def _file_findings(audio: _Audio, sr: int | None) -> list[Finding]:
    file, findings = str(audio.path), []
    channels = audio.wav.shape[0]
    if channels > 1:
        findings.append(
            Finding(
                file,
                f"has {channels} channels where mono is expected",
                "downmix it to mono (or keep one channel) before using it as a pair",
            )
        )
    if sr is not None and audio.sr != sr:
        findings.append(
            Finding(
                file,
                f"sample rate is {audio.sr} Hz, expected {sr} Hz (--sr)",
                f"resample it to {sr} Hz explicitly (soxr, auralab.audio.resample), or check --sr",
            )
        )
    findings += _level_findings(audio)
    return findings


def _level_findings(audio: _Audio) -> list[Finding]:
    file, x = str(audio.path), audio.wav
    if _is_silent(audio):
        level = "all zeros" if not x.any() else f"RMS {_rms_dbfs(x):.1f} dBFS"
        problem = f"is silent ({level}, below {SILENCE_DBFS:.0f} dBFS)"
        fix = f"replace it with the real recording (a silent {audio.role} file cannot be used)"
        return [Finding(file, problem, fix)]
    clipped = _clipped_fraction(x)
    if clipped > MAX_CLIPPED_FRACTION:
        problem = f"is clipped: {100 * clipped:.2f} % of samples sit in runs at |x| >= {CLIP_LEVEL}"
        fix = "use an unclipped source or lower the gain before mixing (clipping biases metrics)"
        return [Finding(file, problem, fix, "warning")]
    return []


def _clipped_fraction(x: np.ndarray) -> float:
    """Fraction of samples in runs of two or more at full scale, (C, T) -> float."""
    # A lone full-scale sample is a peak; a flat run at full scale is what clipping leaves.
    full = np.abs(x) >= CLIP_LEVEL
    run = np.zeros_like(full)
    run[:, 1:] |= full[:, 1:] & full[:, :-1]
    run[:, :-1] |= full[:, :-1] & full[:, 1:]
    return float(run.mean())


def _is_silent(audio: _Audio) -> bool:
    return _rms_dbfs(audio.wav) < SILENCE_DBFS


def _rms_dbfs(x: np.ndarray) -> float:
    """RMS level over all channels in dB relative to full scale; -inf for all zeros."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


# --- noisy against clean ------------------------------------------------------------------------


def _compare(noisy: _Audio, clean: _Audio, sr: int | None, max_lag_ms: float) -> list[Finding]:
    file = str(noisy.path)
    if noisy.sr != clean.sr:
        # With --sr, each off-rate file already has its own finding.
        return [] if sr is not None else [_rate_mismatch(noisy, clean)]
    findings = []
    n, c = noisy.wav.shape[1], clean.wav.shape[1]
    if n != c:
        findings.append(
            Finding(
                file,
                f"length {_samples(n, noisy.sr)} differs from clean {clean.path}: "
                f"{_samples(c, clean.sr)}",
                "trim or pad one side so both have the same length (an edit was probably "
                "applied to one side only)",
            )
        )
    if any(_is_silent(a) for a in (noisy, clean)):
        return findings  # silence is reported per file; a correlation with it means nothing
    if n == c and np.array_equal(noisy.wav, clean.wav):
        problem = f"noisy is identical to clean {clean.path}"
        fix = (
            "check that the noisy folder holds the mixtures (a copy of clean fakes perfect scores)"
        )
        return findings + [Finding(file, problem, fix, "warning")]
    max_lag = round(max_lag_ms * noisy.sr / 1000)
    return findings + _alignment_findings(noisy, clean, max_lag, max_lag_ms)


def _rate_mismatch(noisy: _Audio, clean: _Audio) -> Finding:
    low = min(noisy.sr, clean.sr)
    return Finding(
        str(noisy.path),
        f"sample rate mismatch: noisy is {noisy.sr} Hz, clean {clean.path} is {clean.sr} Hz",
        f"resample one explicitly so both share one rate (e.g. to {low} Hz with "
        "auralab.audio.resample or soxr)",
    )


def _samples(n: int, sr: int) -> str:
    return f"{n} samples ({n / sr:.3f} s)"


@dataclass(frozen=True)
class Alignment:
    """How noisy lines up with clean.

    Attributes:
        lag: samples by which noisy is late (negative: early) at the correlation peak.
        rho: normalised cross-correlation (pre-emphasised) at ``lag``, in [-1, 1].
        rho0: the same at lag 0.
        snr_db: residual SNR of noisy against optimally scaled clean at ``lag``, in dB.
    """

    lag: int
    rho: float
    rho0: float
    snr_db: float


def align(noisy: np.ndarray, clean: np.ndarray, max_lag: int) -> Alignment:
    """Find the lag of ``noisy`` against ``clean`` by FFT cross-correlation over their overlap.

    Args:
        noisy: ``(T1,)`` noisy waveform.
        clean: ``(T2,)`` clean waveform at the same rate.
        max_lag: largest lag searched, in samples (both directions).

    Returns:
        An :class:`Alignment`; ``lag > 0`` means noisy starts later than clean.
    """
    n = min(len(noisy), len(clean))
    max_lag = max(0, min(max_lag, n - 1))
    x, y = _pre_emphasis(noisy[:n]), _pre_emphasis(clean[:n])
    norm = np.sqrt(np.dot(x, x) * np.dot(y, y)) or 1.0
    size = scipy.fft.next_fast_len(2 * n)
    r = scipy.fft.irfft(scipy.fft.rfft(x, size) * np.conj(scipy.fft.rfft(y, size)), size)
    # r[k] = sum_t x[t + k] y[t]; negative lags wrap to the end.
    lags = np.concatenate([r[size - max_lag :], r[: max_lag + 1]]) / norm  # (2 max_lag + 1,)
    best = int(np.argmax(np.abs(lags)))
    lag = best - max_lag
    return Alignment(lag, float(lags[best]), float(lags[max_lag]), _residual_snr(noisy, clean, lag))


def _pre_emphasis(x: np.ndarray) -> np.ndarray:
    y = np.asarray(x, dtype=np.float64).copy()
    y[1:] -= PRE_EMPHASIS * y[:-1]
    return y


def _residual_snr(noisy: np.ndarray, clean: np.ndarray, lag: int) -> float:
    """SNR in dB of noisy against clean after shifting by ``lag`` and optimal scaling."""
    x, y = (noisy[lag:], clean) if lag >= 0 else (noisy, clean[-lag:])
    n = min(len(x), len(y))
    x, y = np.asarray(x[:n], np.float64), np.asarray(y[:n], np.float64)
    denom = np.sqrt(np.dot(x, x) * np.dot(y, y))
    rho2 = min(float(np.dot(x, y) / denom) ** 2, 1.0) if denom > 0 else 0.0
    # With the best gain g = <x,y>/<y,y>, signal/residual energy is rho^2 / (1 - rho^2).
    if rho2 >= 1.0:
        return float("inf")
    return 10 * np.log10(max(rho2, 1e-12) / (1 - rho2))


def _alignment_findings(
    noisy: _Audio, clean: _Audio, max_lag: int, max_lag_ms: float
) -> list[Finding]:
    a = align(noisy.mono, clean.mono, max_lag)
    file = str(noisy.path)
    if abs(a.rho) < MIN_CORRELATION:
        problem = (
            f"not the same utterance as clean {clean.path}: best correlation {abs(a.rho):.2f} "
            f"within +-{max_lag_ms:g} ms (needs >= {MIN_CORRELATION}), residual SNR "
            f"{a.snr_db:.1f} dB"
        )
        fix = (
            "check the pairing (swapped or misnamed files?), or raise --max-lag-ms if the pair "
            f"is offset by more than {max_lag_ms:g} ms"
        )
        return [Finding(file, problem, fix)]
    findings = []
    if a.rho < 0:
        problem = f"polarity is inverted against clean {clean.path} (correlation {a.rho:.2f})"
        findings.append(Finding(file, problem, "negate one of the two files"))
    if a.lag != 0 and abs(a.rho0) < (1 - LAG_MARGIN) * abs(a.rho):
        findings.append(_lag_finding(file, clean, a, noisy.sr))
    return findings


def _lag_finding(file: str, clean: _Audio, a: Alignment, sr: int) -> Finding:
    k = abs(a.lag)
    late = a.lag > 0
    problem = (
        f"time lag of {1000 * k / sr:.1f} ms ({k} samples) against clean {clean.path}: noisy "
        f"starts {'later' if late else 'earlier'} (correlation {abs(a.rho):.2f} at that lag, "
        f"{abs(a.rho0):.2f} unshifted)"
    )
    first, other = ("noisy", "clean") if late else ("clean", "noisy")
    fix = f"drop the first {k} samples of {first} (or pad {other} at the start) and check again"
    return Finding(file, problem, fix)
