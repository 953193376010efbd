"""``auralab check splits``: leaks of files, source recordings and copied audio are caught."""

import csv
import shutil

import numpy as np
import soundfile as sf

from auralab import cli
from auralab.check.splits import check_folds, check_split
from tests.check.test_dataset import esc_subset
from tests.conftest import shared_data

HEADER = ["path", "label", "group"]


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def esc10_rows():
    root = shared_data("esc10")
    with open(root / "meta" / "esc50.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return root, rows


def run(capsys, *argv) -> tuple[int, list[str]]:
    rc = cli.main(["check", "splits", *map(str, argv)])
    return rc, capsys.readouterr().out.splitlines()


def test_official_esc10_folds_do_not_leak(capsys):
    rc, lines = run(capsys, shared_data("esc10"), "--no-audio")
    assert rc == 0 and lines[-1].endswith("no leak")


def test_random_split_of_esc10_leaks_source_recordings(tmp_path, capsys):
    root, rows = esc10_rows()
    # The split ESC-50's maintainers warn against: every other clip, whatever its recording.
    table = [[str(root / "audio" / r["filename"]), r["category"], r["src_file"]] for r in rows]
    train = write_csv(tmp_path / "train.csv", table[::2])
    val = write_csv(tmp_path / "val.csv", table[1::2])
    rc, lines = run(capsys, train, val, "--no-audio")
    assert rc == 1
    # 2-122104-A-0 and -B-0 are takes of one dog recording, neighbours in the table
    leak = [line for line in lines if "source recording 122104 is on both sides" in line]
    assert len(leak) == 1 and "2-122104-B-0.ogg" in leak[0] and "2-122104-A-0.ogg" in leak[0]
    ids = set(lines[-1].rsplit("leak: ", 1)[1].split())
    assert {"2-122104-A-0.ogg", "2-122104-B-0.ogg"} & ids


def test_copies_under_new_names_and_shared_files_are_caught(tmp_path, capsys):
    src = shared_data("esc10", "audio")
    names = ["1-100032-A-0.ogg", "1-17367-A-10.ogg", "2-107351-A-20.ogg", "3-118657-A-41.ogg"]
    for n in names:
        shutil.copy(src / n, tmp_path / n)
    x, sr = sf.read(tmp_path / names[0])
    noise = np.random.default_rng(0).standard_normal(x.size) * np.sqrt(np.mean(x**2) / 1000)
    # re-encoded as WAV, 3 dB quieter, white noise at 30 dB SNR, new name
    sf.write(tmp_path / "renamed_quieter.wav", 0.7 * (x + noise), sr)
    shutil.copy(tmp_path / names[1], tmp_path / "exact_copy.ogg")
    train = write_csv(tmp_path / "train.csv", [[n, "x", n[:8]] for n in names[:3]])
    val = write_csv(
        tmp_path / "val.csv",
        [
            ["renamed_quieter.wav", "x", "r1"],
            ["exact_copy.ogg", "x", "r2"],
            [names[2], "x", "r3"],  # the very same file on both sides
            [names[3], "x", "r4"],  # clean
        ],
    )
    report = check_split(train, val)
    text = "\n".join(f.line() for f in report.findings)
    assert not report.ok
    assert "renamed_quieter.wav holds near-identical audio" in text and names[0] in text
    assert "exact_copy.ogg holds the same decoded audio as train clip 1-17367-A-10.ogg" in text
    assert f"clip {names[2]} is also in train (the same file" in text
    assert report.leaked_ids == sorted(["renamed_quieter.wav", "exact_copy.ogg", names[2]])
    rc, lines = run(capsys, train, val)
    assert rc == 1 and "3 clips leak" in lines[-1]


def test_fold_column_with_a_recording_in_two_folds(tmp_path):
    def edit(rows):
        for r in rows:
            if r["filename"] == "2-122104-B-0.ogg":
                r["fold"] = "1"

    report = check_folds(esc_subset(tmp_path / "d", edit=edit))
    errors = [f.line() for f in report.findings if f.is_error]
    assert len(errors) == 1 and "source recording 122104 is on both sides" in errors[0]
    assert report.leaked_ids == ["2-122104-B-0.ogg"]
