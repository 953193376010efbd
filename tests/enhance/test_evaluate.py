import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import soxr

from auralab.cli import main
from auralab.enhance.evaluate import score_pair
from tests.conftest import shared_data

TABLE = ("PESQ-wb", "STOI", "ESTOI", "SI-SDR", "SSNR", "CSIG", "CBAK", "COVL")


@pytest.fixture
def pairs(tmp_path):
    src = shared_data("pairs", "vbd-test10")
    for side in ("noisy", "clean"):
        (tmp_path / side).mkdir()
        for name in ("p232_001.wav", "p232_002.wav", "p232_010.wav"):
            shutil.copy(src / side / name, tmp_path / side / name)
    return tmp_path / "noisy", tmp_path / "clean"


def test_noisy_baseline_on_vbd_test10(vbd_test10, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["evaluate", "--noisy", str(vbd_test10 / "noisy"), "--clean", str(vbd_test10 / "clean")]
    assert main([*args, "-o", str(out), "--workers", "2", "--quiet"]) == 0
    printed = capsys.readouterr().out
    for name in TABLE:
        assert name in printed
    summary = json.loads((out / "summary.json").read_text())
    noisy = summary["systems"]["noisy"]
    assert noisy["pesq_wb"]["n"] == 10 and summary["integrity_check"] == "passed (10 pairs)"
    # ../shared/PEERS.md: the unprocessed input scores 2.160 / 0.930 / 0.822 / 10.04 dB here.
    assert noisy["pesq_wb"]["mean"] == pytest.approx(2.160, abs=6e-4)
    assert noisy["stoi"]["mean"] == pytest.approx(0.930, abs=6e-4)
    assert noisy["si_sdr"]["mean"] == pytest.approx(10.04, abs=6e-3)
    lo, hi = noisy["pesq_wb"]["ci95"]
    assert lo < noisy["pesq_wb"]["mean"] < hi
    rows = (out / "per_file.csv").read_text().splitlines()
    assert len(rows) == 11 and rows[0].startswith("file,system,sr,metric_sr")


def test_enhanced_gets_paired_deltas_and_bad_files_are_listed(pairs, tmp_path, capsys):
    noisy, clean = pairs
    enhanced = tmp_path / "enhanced"
    enhanced.mkdir()
    # "enhanced" = halfway between noisy and clean: every metric must improve.
    for name in ("p232_001.wav", "p232_002.wav"):
        n, sr = sf.read(noisy / name)
        c, _ = sf.read(clean / name)
        sf.write(enhanced / name, 0.5 * (n + c), sr, subtype="FLOAT")
    (enhanced / "p232_010.wav").write_bytes(b"not audio at all")
    out = tmp_path / "out"
    code = main(
        [
            "evaluate",
            "--noisy",
            str(noisy),
            "--clean",
            str(clean),
            "--enhanced",
            str(enhanced),
            "-o",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1  # one file failed, the rest were scored
    assert "failed:" in printed and "p232_010.wav: cannot be decoded" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["systems"]["enhanced"]["pesq_wb"]["n"] == 2
    for metric in ("pesq_wb", "stoi", "si_sdr", "ssnr", "csig", "cbak", "covl"):
        assert summary["delta_vs_noisy"][metric]["mean"] > 0, metric
    assert summary["delta_vs_noisy"]["llr"]["better"] == "lower"
    assert summary["failures"][0]["file"].endswith("p232_010.wav")
    assert sorted(p.name for p in (out / "spectrograms").iterdir()) == [
        "p232_001.png",
        "p232_002.png",
    ]


def test_refuses_bad_pairs_unless_no_check(pairs, tmp_path, capsys):
    noisy, clean = pairs
    x, sr = sf.read(noisy / "p232_002.wav")
    sf.write(noisy / "p232_002.wav", np.concatenate([np.zeros(160), x[:-160]]), sr)  # 10 ms lag
    out = tmp_path / "out"
    args = ["evaluate", "--noisy", str(noisy), "--clean", str(clean), "-o", str(out), "--quiet"]
    assert main(args) == 1
    printed = capsys.readouterr().out
    assert "p232_002.wav" in printed and "lag" in printed and "refusing" in printed
    assert not (out / "summary.json").exists()
    assert main([*args, "--no-check"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["integrity_check"] == "skipped by --no-check"


def test_other_rates_are_resampled_explicitly_and_reported(pairs, tmp_path):
    noisy, clean = pairs
    for side in (noisy, clean):
        for path in side.glob("*.wav"):
            x, sr = sf.read(path)
            sf.write(path, soxr.resample(x, sr, 48000), 48000, subtype="FLOAT")
    rows = score_pair(str(noisy / "p232_001.wav"), str(clean / "p232_001.wav"))
    assert rows[0]["sr"] == 48000 and rows[0]["metric_sr"] == 16000
    assert rows[0]["resampled_from"] == 48000
    out = tmp_path / "out"
    assert (
        main(
            [
                "evaluate",
                "--noisy",
                str(noisy),
                "--clean",
                str(clean),
                "-o",
                str(out),
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads((out / "summary.json").read_text())["resampled_to_16k_from"] == [48000]


def test_example_runs_with_no_data_of_ones_own(tmp_path, capsys):
    assert main(["evaluate", "--example", "-o", str(tmp_path), "--quiet"]) == 0
    assert "PESQ-wb" in capsys.readouterr().out
    assert (tmp_path / "per_file.csv").exists()


def test_length_mismatch_is_a_listed_failure(pairs, tmp_path, capsys):
    noisy, clean = pairs
    x, sr = sf.read(noisy / "p232_001.wav")
    sf.write(noisy / "p232_001.wav", x[:-100], sr)
    code = main(
        [
            "evaluate",
            "--noisy",
            str(noisy),
            "--clean",
            str(clean),
            "-o",
            str(tmp_path / "o"),
            "--no-check",
            "--workers",
            "1",
            "--quiet",
        ]
    )
    assert code == 1
    assert "p232_001.wav: 27761 samples but clean has 27861" in capsys.readouterr().out


@pytest.mark.parametrize("n, warned", [(2, True), (12, False)])
def test_table_says_when_too_few_files_make_the_intervals_meaningless(n, warned):
    from auralab.enhance.evaluate import format_table, summarise
    from auralab.metrics import SPEECH_METRICS

    rng = np.random.default_rng(0)
    rows = [
        {"file": f"f{i}.wav", "system": system, **{m: float(rng.normal()) for m in SPEECH_METRICS}}
        for i in range(n)
        for system in ("noisy", "enhanced")
    ]
    header = format_table(summarise(rows)).splitlines()[0]
    assert (f"only {n} files" in header) is warned
