"""``auralab check pairs`` on real VoiceBank-DEMAND pairs, clean and deliberately broken.

Each broken case is a copy of ``pairs/vbd-test10`` with one defect planted; the tests assert that
the defect is reported against the right file, with the numbers in the message, and that the
untouched pairs stay silent.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from auralab import cli
from auralab.check import CheckReport, Finding, check_pairs, errors_first
from auralab.errors import AudioError
from tests.conftest import shared_data

SR = 16000


@pytest.fixture
def main():
    """The real ``auralab`` entry point, every command registered."""
    return cli.main


@pytest.fixture
def pairs(tmp_path) -> tuple[Path, Path]:
    """A writable copy of vbd-test10: ``(noisy_dir, clean_dir)``."""
    src = shared_data("pairs", "vbd-test10")
    for side in ("noisy", "clean"):
        shutil.copytree(src / side, tmp_path / side)
    return tmp_path / "noisy", tmp_path / "clean"


def run_check(main, capsys, noisy: Path, clean: Path, *options: str) -> tuple[int, list[str]]:
    rc = main(["check", "pairs", str(noisy), str(clean), *options])
    return rc, capsys.readouterr().out.splitlines()


def about(lines: list[str], path: Path) -> list[str]:
    """The printed findings whose FILE is ``path``."""
    return [line for line in lines if line.split(": ", 1)[-1].startswith(f"{path}: ")]


def read_int16(path: Path) -> np.ndarray:
    return sf.read(path, dtype="int16")[0]


# --- real data passes ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, n", [("vbd-test10", 10), ("vbd-train6", 6)])
def test_real_pairs_pass(main, capsys, name, n):
    root = shared_data("pairs", name)
    rc, lines = run_check(main, capsys, root / "noisy", root / "clean", "--sr", "16000")
    assert rc == 0
    assert lines == [f"{n} pairs checked: all aligned, same rate, same length"]
    report = check_pairs(root / "noisy", root / "clean")
    assert isinstance(report, CheckReport)
    assert report.ok and report.findings == [] and (report.n_pairs, report.n_ok) == (n, n)


# --- one defect at a time -----------------------------------------------------------------------


def test_noisy_shifted_by_10ms_is_a_lag(main, capsys, pairs):
    noisy, clean = pairs
    # p232_010 is the hardest real pair (2.5 dB SNR); keep its length, lose its last 160 samples.
    x = read_int16(noisy / "p232_010.wav")
    shifted = np.concatenate([np.zeros(160, np.int16), x[:-160]])
    sf.write(noisy / "p232_010.wav", shifted, SR, subtype="PCM_16")
    rc, lines = run_check(main, capsys, noisy, clean)
    assert rc == 1
    (line,) = about(lines, noisy / "p232_010.wav")
    assert line.startswith("error: ")
    assert "lag" in line and "10.0 ms" in line and "160 samples" in line and "later" in line
    assert lines[-1] == "1 of 10 pairs have problems"
    assert len(lines) == 2


def test_swapped_pair_is_not_the_same_utterance(main, capsys, pairs):
    noisy, clean = pairs
    a, b, tmp = clean / "p232_001.wav", clean / "p232_002.wav", clean / "tmp.wav"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    rc, lines = run_check(main, capsys, noisy, clean)
    assert rc == 1
    for name in ("p232_001.wav", "p232_002.wav"):
        found = about(lines, noisy / name)
        assert any("not the same utterance" in line and str(clean / name) in line for line in found)
        # Their lengths differ too (1.741 s against 2.715 s): both said, in samples and seconds.
        assert any("length" in line and "27861 samples (1.741 s)" in line for line in found)
    assert lines[-1] == "2 of 10 pairs have problems"


def test_48k_noisy_against_16k_clean_is_a_rate_mismatch(main, capsys, pairs):
    noisy, clean = pairs
    x, _ = sf.read(noisy / "p232_003.wav", dtype="float32")
    sf.write(noisy / "p232_003.wav", soxr.resample(x, SR, 48000), 48000, subtype="FLOAT")
    rc, lines = run_check(main, capsys, noisy, clean)
    assert rc == 1
    (line,) = about(lines, noisy / "p232_003.wav")
    assert "sample rate mismatch" in line and "48000 Hz" in line and "16000 Hz" in line
    assert "resample one explicitly" in line
    assert lines[-1] == "1 of 10 pairs have problems"


def test_rates_other_than_sr_are_named(main, capsys):
    root = shared_data("pairs", "vbd-test10")
    rc, lines = run_check(main, capsys, root / "noisy_24k", root / "clean", "--sr", "16000")
    assert rc == 1
    for path in sorted((root / "noisy_24k").glob("*.wav")):
        (line,) = about(lines, path)
        assert "sample rate is 24000 Hz, expected 16000 Hz" in line
    assert lines[-1] == "10 of 10 pairs have problems"


def test_missing_folder_is_a_one_line_error(main, capsys, tmp_path):
    clean = shared_data("pairs", "vbd-test10", "clean")
    rc = main(["check", "pairs", str(tmp_path / "nope"), str(clean)])
    out = capsys.readouterr()
    assert rc == 2 and out.out == ""
    assert out.err.count("\n") == 1
    assert f"{tmp_path / 'nope'}: noisy folder does not exist" in out.err


def test_warnings_print_but_pass(main, capsys, pairs):
    noisy, clean = pairs
    shutil.copyfile(clean / "p232_001.wav", noisy / "p232_001.wav")
    x = read_int16(noisy / "p232_002.wav").astype(np.float64) / 32768
    sf.write(noisy / "p232_002.wav", np.clip(20 * x, -1, 1), SR, subtype="PCM_16")
    rc, lines = run_check(main, capsys, noisy, clean)
    assert rc == 0
    (same,) = about(lines, noisy / "p232_001.wav")
    assert same.startswith("warning: ") and "noisy is identical to clean" in same
    (clipped,) = about(lines, noisy / "p232_002.wav")
    assert clipped.startswith("warning: ") and "clipped" in clipped
    assert lines[-1] == "10 pairs checked: all aligned, same rate, same length (2 warnings above)"


# --- many defects in one batch ------------------------------------------------------------------


def plant_defects(noisy: Path, clean: Path) -> dict[Path, str]:
    """Break several pairs of a vbd-test10 copy; returns file -> words its finding must hold."""
    x = read_int16(clean / "p232_003.wav")
    sf.write(clean / "p232_003.wav", x[:-800], SR, subtype="PCM_16")
    (noisy / "p232_005.wav").write_bytes(b"RIFF\x00\x01garbage, not audio" * 40)
    x = read_int16(noisy / "p232_006.wav")
    sf.write(noisy / "p232_006.wav", np.stack([x, x], axis=1), SR, subtype="PCM_16")
    y = read_int16(clean / "p232_007.wav").astype(np.float32) / 32768
    y[1000] = np.nan
    sf.write(clean / "p232_007.wav", y, SR, subtype="FLOAT")
    y = read_int16(clean / "p232_009.wav").astype(np.float32) / 32768
    sf.write(clean / "p232_009.wav", y * 1e-4, SR, subtype="FLOAT")  # about -106 dBFS
    x = read_int16(noisy / "p232_011.wav")
    sf.write(noisy / "p232_011.wav", -x, SR, subtype="PCM_16")
    (clean / "p232_012.wav").unlink()
    shutil.copyfile(noisy / "p232_001.wav", noisy / "p232_001_copy.wav")
    shutil.copyfile(clean / "p232_001.wav", clean / "p232_001_copy.wav")
    return {
        noisy / "p232_003.wav": "length 114958 samples (7.185 s) differs",
        noisy / "p232_005.wav": "cannot be decoded",
        noisy / "p232_006.wav": "has 2 channels where mono is expected",
        clean / "p232_007.wav": "NaN or infinite samples",
        clean / "p232_009.wav": "is silent",
        noisy / "p232_011.wav": "polarity is inverted",
        noisy / "p232_012.wav": "has no clean partner",
        noisy / "p232_001_copy.wav": f"has the same audio as {noisy / 'p232_001.wav'}",
    }


def test_batch_reports_every_problem(main, capsys, pairs):
    noisy, clean = pairs
    expected = plant_defects(noisy, clean)
    rc, lines = run_check(main, capsys, noisy, clean)
    assert rc == 1
    for path, words in expected.items():
        found = about(lines, path)
        assert any(line.startswith("error: ") and words in line for line in found), (path, lines)
    # One clean utterance under several noises is allowed: a warning only.
    (dup_clean,) = about(lines, clean / "p232_001_copy.wav")
    assert dup_clean.startswith("warning: ") and "same audio as" in dup_clean
    first_warning = next(i for i, line in enumerate(lines) if line.startswith("warning: "))
    assert all(line.startswith("error: ") for line in lines[:first_warning])
    for untouched in ("p232_001.wav", "p232_002.wav", "p232_010.wav"):
        assert not about(lines, noisy / untouched) and not about(lines, clean / untouched)
    assert lines[-1] == "8 of 11 pairs have problems"


def test_batch_is_the_same_with_workers(pairs):
    noisy, clean = pairs
    plant_defects(noisy, clean)
    serial = check_pairs(noisy, clean)
    parallel = check_pairs(noisy, clean, workers=3)
    assert parallel == serial and not serial.ok
    assert (serial.n_pairs, serial.n_ok) == (11, 3)


def test_larger_offset_than_searched_says_so(pairs):
    noisy, clean = pairs
    x = read_int16(noisy / "p232_006.wav")
    shifted = np.concatenate([np.zeros(1600, np.int16), x[:-1600]])  # 100 ms
    sf.write(noisy / "p232_006.wav", shifted, SR, subtype="PCM_16")
    (finding,) = check_pairs(noisy, clean).findings
    assert "not the same utterance" in finding.problem and "--max-lag-ms" in finding.fix
    (finding,) = check_pairs(noisy, clean, max_lag_ms=150).findings
    assert "time lag of 100.0 ms (1600 samples)" in finding.problem


# --- Finding ------------------------------------------------------------------------------------


def test_finding_line_and_audio_error_message(tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"garbage bytes")
    with pytest.raises(AudioError) as e:
        from auralab.audio import load

        load(bad)
    finding = Finding.from_message(str(bad), str(e.value))
    assert finding.file == str(bad) and finding.severity == "error"
    assert finding.problem.startswith("cannot be decoded (") and "re-export" in finding.fix
    assert finding.line() == f"{bad}: {finding.problem}; {finding.fix}"
    assert Finding("f.wav", "p", "fix").line() == "f.wav: p; fix"
    with pytest.raises(ValueError, match="severity"):
        Finding("f.wav", "p", "fix", "fatal")
    warn, err = Finding("a", "p", "f", "warning"), Finding("b", "p", "f")
    assert errors_first([warn, err]) == [err, warn]
