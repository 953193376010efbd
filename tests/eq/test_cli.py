"""`auralab eq` end to end with the shipped model, on the bundled music clip."""

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from auralab.cli import main
from auralab.eq.evaluate import spectral_centroid
from auralab.eq.generate import example_music_path
from tests.conftest import shared_data


def _numbers(line: str) -> float:
    return float(line.split()[1])


def test_generate_prints_13_valid_parameters_and_plots(tmp_path, capsys):
    png = tmp_path / "warm.png"
    assert main(["eq", "generate", "warm", "--strength", "0.5", "--plot", str(png)]) == 0
    lines = capsys.readouterr().out.splitlines()
    params = [line for line in lines[1:] if line.split()[0].endswith(("gain", "freq", "q"))]
    assert len(params) == 13 and png.stat().st_size > 10_000
    for line in params:
        value = _numbers(line)
        name = line.split()[0]
        if name.endswith("gain"):
            assert -6 <= value <= 6  # strength 0.5 halves gains of at most 12 dB
        elif name.endswith("freq"):
            assert 20 <= value <= 20000
        else:
            assert 0.1 <= value <= 10


def test_strength_zero_is_flat(capsys):
    assert main(["eq", "generate", "bright", "--strength", "0", "--no-plot"]) == 0
    gains = [_numbers(x) for x in capsys.readouterr().out.splitlines() if "_gain" in x]
    assert gains == [0.0] * 5


def test_unknown_term_is_one_line_with_close_matches(capsys):
    assert main(["eq", "generate", "brigth", "--no-plot"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "close matches: bright" in err


def test_interpolate_prints_a_path(tmp_path, capsys):
    png = tmp_path / "path.png"
    assert main(["eq", "interpolate", "warm", "bright", "--steps", "5", "--plot", str(png)]) == 0
    rows = [x for x in capsys.readouterr().out.splitlines() if x[:5].strip()[:1].isdigit()]
    assert [float(r.split()[0]) for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(len(r.split()) == 14 for r in rows) and png.exists()


def test_terms_lists_the_vocabulary(capsys):
    assert main(["eq", "terms"]) == 0
    assert "warm, bright" in capsys.readouterr().out


def test_apply_moves_the_centroid_the_right_way_at_equal_loudness(tmp_path, capsys):
    clip = example_music_path()
    dry, sr = sf.read(clip, dtype="float64")  # (T, C)
    meter = pyloudnorm.Meter(sr)
    centroid = {"dry": spectral_centroid(dry.T, sr)}
    for term in ("warm", "bright"):
        out = tmp_path / f"{term}.wav"
        assert main(["eq", "apply", str(clip), "-o", str(out), "--term", term]) == 0
        wet, wet_sr = sf.read(out, dtype="float64")
        assert wet_sr == sr and wet.shape == dry.shape
        assert abs(meter.integrated_loudness(wet) - meter.integrated_loudness(dry)) < 0.5
        centroid[term] = spectral_centroid(wet.T, sr)
    assert centroid["warm"] < centroid["dry"] < centroid["bright"]
    assert "loudness matched by LUFS" in capsys.readouterr().out


def test_apply_without_loudness_matching_and_refusing_to_overwrite(tmp_path, capsys):
    clip = example_music_path()
    out = tmp_path / "x.flac"
    args = ["eq", "apply", str(clip), "-o", str(out), "--term", "warm", "--strength", "0.3"]
    assert main([*args, "--no-match-loudness"]) == 0
    assert "loudness not matched" in capsys.readouterr().out
    assert np.abs(sf.read(out)[0]).max() <= 1.0
    assert main(["eq", "apply", str(out), "-o", str(out), "--term", "warm"]) == 2
    assert "is the input file" in capsys.readouterr().err


def test_evaluate_prints_the_comparison_table(tmp_path, capsys):
    csv = shared_data("safe-db", "SAFEEqualiserUserData.csv")
    out = tmp_path / "eval"
    assert main(["eq", "evaluate", "--data", str(csv), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    for row in ("auralab semantic_ae", "beta_vae (FlowEQ)", "per-term mean", "human (held-out)"):
        assert row in text
    assert "response error auralab semantic_ae - beta_vae (FlowEQ)" in text
    for name in ("summary.json", "table.txt", "latent.png", "responses.png"):
        assert (out / name).stat().st_size > 0


def test_evaluate_without_data_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AURALAB_SHARED_DATA", str(tmp_path))
    assert main(["eq", "evaluate", "-o", str(tmp_path / "e")]) == 2
    assert "pass --data" in capsys.readouterr().err


@pytest.mark.parametrize(("recipe", "tensorboard"), [("semantic_ae-safe", 1), ("beta_vae-safe", 0)])
def test_train_a_few_steps_resume_and_generate_from_the_run(recipe, tensorboard, tmp_path, capsys):
    from pathlib import Path

    csv = shared_data("safe-db", "SAFEEqualiserUserData.csv")
    path = Path(__file__).resolve().parents[2] / "recipes" / "eq" / f"{recipe}.toml"
    run = tmp_path / "run"
    fast = ["--set", f"data.csv={str(csv)!r}", "--set", "trainer.max_steps=2"]
    fast += ["--set", f"trainer.tensorboard={str(bool(tensorboard)).lower()}"]
    assert main(["train", str(path), *fast, "--run-dir", str(run)]) == 0
    config = (run / "config.toml").read_text().replace("max_steps = 2", "max_steps = 4")
    (run / "config.toml").write_text(config)
    assert main(["train", "--resume", str(run)]) == 0
    from auralab.eq.pretrained import load_model

    assert int(load_model(run / "last.pt").steps) == 4  # the annealing clock resumed too
    assert (run / "tensorboard").exists() == bool(tensorboard)  # generated responses logged
    capsys.readouterr()
    assert main(["eq", "generate", "warm", "--model", str(run), "--no-plot"]) == 0
    assert "high_shelf_freq" in capsys.readouterr().out
