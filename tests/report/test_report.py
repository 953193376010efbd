"""``auralab report`` on folders made by the real commands on tiny data."""

import csv
import html
import json
import re
from pathlib import Path

import pytest

from auralab.cli import main
from auralab.enhance.evaluate import example_dirs
from auralab.train import Trainer
from tests.classify.test_crossval import QUICK, _subset_rows
from tests.conftest import shared_data
from tests.train.toy import ToyConfig, ToyTask


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A toy training run and an `auralab evaluate` output on the bundled example pairs."""
    root = tmp_path_factory.mktemp("runs")
    config = ToyConfig()
    Trainer(ToyTask(config), config, root / "toy_run").fit()
    noisy, _ = example_dirs()
    assert main(["enhance", str(noisy), "-o", str(root / "enhanced")]) == 0
    argv = ["evaluate", "--example", "--enhanced", str(root / "enhanced"), "--quiet"]
    assert main([*argv, "--workers", "1", "-o", str(root / "eval_out")]) == 0
    return {"train": root / "toy_run", "evaluate": root / "eval_out", "root": root}


@pytest.fixture(scope="module")
def report(folders) -> Path:
    out = folders["root"] / "report"
    assert main(["report", str(folders["train"]), str(folders["evaluate"]), "-o", str(out)]) == 0
    return out


def test_html_shows_metrics_baseline_and_deltas(folders, report):
    page = (report / "report.html").read_text()
    summary = json.loads((folders["evaluate"] / "summary.json").read_text())
    for metric, stat in summary["systems"]["noisy"].items():
        assert f"<td>{metric}</td>" in page
        assert f"{stat['mean']:.3f}" in page  # the noisy baseline
        delta = summary["delta_vs_noisy"][metric]
        lo, hi = delta["ci95"]
        assert f"{delta['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}]" in page
    assert "val/loss" in page and "<details><summary>config</summary>" in page
    config = (folders["train"] / "config.toml").read_text()
    assert html.escape(config.splitlines()[0]) in page


def test_html_is_self_contained(report):
    page = (report / "report.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert any("training_curves" in s for s in sources)
    assert sum("spectrogram" in s or "p232" in s for s in sources) >= 1
    for src in sources:
        assert not src.startswith(("http", "/")) and (report / src).is_file()
    assert not re.search(r'(href|src)="https?:', page)


def test_markdown_and_latex(report):
    md = (report / "report.md").read_text()
    assert "![training curves](assets/" in md and "| pesq\\_wb |" in md
    tex = (report / "table.tex").read_text()
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 2  # one table per folder
    assert r"pesq\_wb" in tex and r"$\pm$" in tex and r"95 \%" in tex
    assert not re.search(r"(?<!\\)_", tex.replace(r"\_", "")), "unescaped underscore"


def test_special_characters_are_escaped():
    from auralab.report.latex import escape_latex
    from auralab.report.render import Section, Table, to_html

    assert escape_latex("a_b & 5% #1 $x {y} ~ ^ \\") == (
        r"a\_b \& 5\% \#1 \$x \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{}"
    )
    page = to_html([Section("<b>&", Path("x"), tables=[Table("c<", ["m"], [["<i>"]])])])
    assert "<b>&" not in page and "&lt;b&gt;&amp;" in page and "&lt;i&gt;" in page


def test_bad_folder_is_one_line_exit_2(folders, tmp_path, capsys):
    bad = folders["root"] / "enhanced"  # audio files only
    assert main(["report", str(bad), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err and "config.toml" in err and "summary.json" in err
    assert not (tmp_path / "out").exists()


def _assert_rendered(out: Path, images: list[str]) -> tuple[str, str]:
    page, tex = (out / "report.html").read_text(), (out / "table.tex").read_text()
    for name in images:
        assert re.search(rf'<img src="assets/[^"]*{name}"', page)
    for src in re.findall(r'<img src="([^"]+)"', page):
        assert (out / src).is_file()
    assert r"\toprule" in tex and r"\bottomrule" in tex
    return page, tex


def test_crossval_report(tmp_path):
    table = tmp_path / "clips.csv"
    with open(table, "w", newline="") as f:
        csv.writer(f).writerows([["path", "label", "group", "fold"], *_subset_rows(per_class=4)])
    data = ["--set", f'data.root="{table}"', "--set", "trainer.max_steps=4"]
    data += ["--set", "trainer.batch_size=4"]
    assert main(["crossval", str(QUICK), "--out", str(tmp_path / "cv"), *data]) == 0
    assert main(["report", str(tmp_path / "cv"), "-o", str(tmp_path / "r")]) == 0
    page, tex = _assert_rendered(tmp_path / "r", ["confusion.png"])
    summary = json.loads((tmp_path / "cv" / "summary.json").read_text())
    assert f"{summary['mean']['macro_f1']:.4f} ± " in page and r"macro\_f1" in tex


def test_eq_report(tmp_path):
    safe = shared_data("safe-db", "SAFEEqualiserUserData.csv")
    assert main(["eq", "evaluate", "--data", str(safe), "-o", str(tmp_path / "eq")]) == 0
    assert main(["report", str(tmp_path / "eq"), "-o", str(tmp_path / "r")]) == 0
    page, tex = _assert_rendered(tmp_path / "r", ["latent.png", "responses.png"])
    # the same paired comparison `auralab eq evaluate` prints, with its bootstrap CI
    line = next(
        x for x in (tmp_path / "eq" / "table.txt").read_text().splitlines() if "- per-term" in x
    )
    mean, lo, hi = re.search(r": ([-+.\d]+) dB \(95 % CI ([-+.\d]+) \.\. ([-+.\d]+)", line).groups()
    assert f"<td>{mean}</td><td>[{lo}, {hi}]</td>" in page
    assert r"semantic\_ae" in tex
