"""``auralab check dataset`` on real ESC-10, and on small copies of it with one defect planted."""

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from auralab import cli
from auralab.check.dataset import check_dataset, read_table
from tests.conftest import shared_data

# Two clips of each of three source recordings (takes A and B) plus single clips, folds 1-3.
SUBSET = [
    "1-100032-A-0.ogg",
    "1-110389-A-0.ogg",
    "1-17367-A-10.ogg",
    "2-122104-A-0.ogg",
    "2-122104-B-0.ogg",
    "2-107351-A-20.ogg",
    "3-118657-A-41.ogg",
    "3-118657-B-41.ogg",
]


def esc_subset(dest: Path, names: list[str] = SUBSET, edit=None) -> Path:
    """A copy of some ESC-10 clips in the ESC-50 layout; ``edit(rows)`` may change the rows."""
    src = shared_data("esc10")
    with open(src / "meta" / "esc50.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["filename"] in names]
    assert len(rows) == len(names), "ESC-10 subset names changed"
    (dest / "audio").mkdir(parents=True)
    (dest / "meta").mkdir()
    for r in rows:
        shutil.copy(src / "audio" / r["filename"], dest / "audio" / r["filename"])
    if edit:
        edit(rows)
    with open(dest / "meta" / "esc50.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return dest


def run(capsys, *argv) -> tuple[int, list[str]]:
    rc = cli.main(["check", "dataset", *map(str, argv)])
    return rc, capsys.readouterr().out.splitlines()


def test_esc10_passes_and_its_hidden_duplicate_is_reported(capsys):
    rc, lines = run(capsys, shared_data("esc10"), "--workers", "2")
    assert rc == 0, lines
    assert "400 clips (esc50 layout), 10 labels, folds: [1, 2, 3, 4, 5], groups: yes" in lines[-2]
    assert "rates: 44100 Hz x 400" in lines[-2]
    # ESC-10 files one crackling-fire recording under two source ids; both sit in fold 2, so
    # it is counted twice but does not leak: a warning, not an error.
    dup = [line for line in lines if line.startswith("warning:") and "near-identical" in line]
    assert len(dup) == 1 and "2-28314-A-12.ogg" in dup[0] and "both in fold 2" in dup[0]


def test_subset_is_clean(tmp_path):
    report = check_dataset(esc_subset(tmp_path / "d"))
    # small classes and classes missing from some folds are warnings, not errors
    assert report.ok and all(not f.is_error for f in report.findings)
    assert report.rates == {44100: 8}


def test_missing_unlisted_unreadable_and_inconsistent_rows(tmp_path, capsys):
    def edit(rows):
        rows[0]["filename"] = "1-999999-A-0.ogg"  # a row whose file does not exist
        rows[1]["target"] = "7"  # dog gets a second target id

    root = esc_subset(tmp_path / "d", edit=edit)
    (root / "audio" / "1-100032-A-0.ogg").rename(root / "audio" / "stray.ogg")  # no row
    (root / "audio" / "1-17367-A-10.ogg").write_bytes(b"not audio at all")
    rc, lines = run(capsys, root)
    text = "\n".join(lines)
    assert rc == 1
    assert "1-999999-A-0.ogg: listed, but" in text and "does not exist" in text
    assert "stray.ogg: audio file has no row" in text
    assert "category 'dog' has targets ['0', '7']" in text
    assert "1-17367-A-10.ogg: cannot be decoded" in text


def test_recording_across_folds_and_copies_are_errors(tmp_path, capsys):
    def edit(rows):
        for r in rows:
            if r["filename"] == "3-118657-B-41.ogg":
                r["fold"] = "2"  # take B leaves its recording's fold
        baby = next(r for r in rows if r["filename"] == "2-107351-A-20.ogg")
        copy = dict(baby, filename="3-777777-A-20.ogg", src_file="777777", fold="3")
        rows.append(copy)

    root = esc_subset(tmp_path / "d", edit=edit)
    x, sr = sf.read(root / "audio" / "2-107351-A-20.ogg")
    sf.write(root / "audio" / "3-777777-A-20.ogg", 0.5 * x, sr)  # renamed, 6 dB quieter
    rc, lines = run(capsys, root)
    text = "\n".join(lines)
    assert rc == 1
    assert "source recording 118657 sits in folds [2, 3]" in text
    assert "3-777777-A-20.ogg: holds near-identical audio" in text and "folds 3 and 2" in text


def test_folder_layout_with_exact_duplicate_of_another_label(tmp_path):
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        sf.write(tmp_path / label / "x.wav", x, 8000)
        sf.write(tmp_path / label / "y.wav", np.roll(x, 3000) * 0.5, 8000)
    report = check_dataset(tmp_path)
    errors = [f.line() for f in report.findings if f.is_error]
    assert read_table(tmp_path).layout == "folders"
    assert any("the same decoded audio as a/x.wav but is labelled 'b'" in e for e in errors)


def test_no_dataset_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["check", "dataset", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "neither meta/esc50.csv" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", ["path,label\n", "name,thing\nx.wav,dog\n"])
def test_bad_csv_is_named(tmp_path, bad):
    (tmp_path / "t.csv").write_text(bad)
    with pytest.raises(Exception, match="t.csv"):
        read_table(tmp_path / "t.csv")


def test_check_dataset_reports_safe_db_terms_and_ranges(capsys):
    from auralab.cli import main

    csv_path = shared_data("safe-db", "SAFEEqualiserUserData.csv")
    assert main(["check", "dataset", str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert "warm" in out and "high_shelf_freq" in out
