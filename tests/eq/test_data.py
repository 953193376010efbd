"""SAFE-DB loading: descriptor normalisation, vocabulary, grouped splits, the data report."""

import numpy as np
import pytest

from auralab.eq.data import (
    Vocabulary,
    check_safe,
    is_safe_csv,
    normalise_term,
    read_safe_csv,
    select_terms,
    split_indices,
)
from auralab.errors import DataError
from tests.conftest import shared_data

PARAMS = "0,150,0,560,0.71,0,1000,0.71,0,3300,0.71,0,8200"


def _row(i: int, term: str, params: str = PARAMS, digest: str | None = None) -> str:
    return f"{i},{term},,1,1,{params},,,,,,,{digest or f'h{i:04d}'}\n"


def _csv(tmp_path, rows: list[str]):
    path = tmp_path / "safe.csv"
    path.write_text("".join(rows))
    return path


@pytest.fixture
def safe_csv():
    return shared_data("safe-db", "SAFEEqualiserUserData.csv")


def test_descriptors_are_trimmed_lowercased_and_spaces_collapsed():
    assert normalise_term("  Warm ") == "warm"
    assert normalise_term("Bright\t Clear") == "bright clear"


def test_vocabulary_merges_drops_and_filters_rare_terms(tmp_path):
    rows = [_row(i, t) for i, t in enumerate(["Warm", "warm ", "warmer", "test", "bright", "odd"])]
    data = select_terms(
        read_safe_csv(_csv(tmp_path, rows)),
        Vocabulary(min_count=2, merge={"Warmer": "warm"}, drop=["test"]),
    )
    assert data.terms == ["warm", "warm", "warm"]


def test_a_repeated_setting_shares_its_group_so_it_never_straddles_a_split(tmp_path):
    other = PARAMS.replace("8200", "9000")
    rows = [_row(i, "warm", other if i % 2 else PARAMS) for i in range(40)]
    data = read_safe_csv(_csv(tmp_path, rows))
    assert len(set(data.groups)) == 2  # 40 unique hashes, two distinct settings
    for seed in range(20):
        split = split_indices(data, 0.3, 0.3, seed)
        sides = [name for name, idx in split.items() if len(idx)]
        assert len(sides) <= 2 and all(len(split[s]) % 20 == 0 for s in sides)


def test_real_safe_splits_are_disjoint_by_group_and_by_setting(safe_csv):
    data = read_safe_csv(safe_csv)
    assert len(data) == 1485
    split = split_indices(data, 0.1, 0.2, seed=0)
    assert sum(len(i) for i in split.values()) == len(data)
    seen: dict = {}
    for name, idx in split.items():
        for i in idx:
            for key in (data.groups[i], (data.terms[i], *np.round(data.params[i], 4))):
                assert seen.setdefault(key, name) == name, f"{key} is in {seen[key]} and {name}"
    assert 0.15 < len(split["test"]) / len(data) < 0.25


def test_split_is_stable_when_rows_are_added_or_reordered(tmp_path):
    rows = [_row(i, "warm", PARAMS.replace("8200", str(5000 + i))) for i in range(60)]
    before = read_safe_csv(_csv(tmp_path, rows))
    after = read_safe_csv(_csv(tmp_path, rows[::-1] + [_row(99, "bright")]))
    test_before = {before.ids[i] for i in split_indices(before)["test"]}
    test_after = {after.ids[i] for i in split_indices(after)["test"]}
    assert test_before == test_after - {"99"}


def test_a_short_row_names_file_and_line(tmp_path):
    path = _csv(tmp_path, [_row(1, "warm"), "2,warm,,1,1,0,150\n"])
    with pytest.raises(DataError, match=r"safe\.csv:2: 7 columns, expected 25"):
        read_safe_csv(path)


def test_a_bad_number_names_the_parameter(tmp_path):
    path = _csv(tmp_path, [_row(1, "warm", PARAMS.replace("560", "abc"))])
    with pytest.raises(DataError, match=r"safe\.csv:1: band1_freq is not a number"):
        read_safe_csv(path)


def test_report_on_real_safe_counts_terms_and_ranges(safe_csv):
    assert is_safe_csv(safe_csv)
    report = check_safe(safe_csv)
    assert report.ok and report.n_rows == 1485
    assert report.term_counts.most_common(2) == [("warm", 462), ("bright", 437)]
    assert report.ranges["high_shelf_freq"] == (580.0, 20000.0)  # the data reaches 20 kHz
    text = "\n".join(report.summary_lines())
    assert "warm 462" in text and "high_shelf_freq" in text


def test_report_flags_values_outside_the_physical_bounds(tmp_path):
    path = _csv(tmp_path, [_row(1, "warm"), _row(2, "warm", PARAMS.replace("8200", "25000"))])
    report = check_safe(path)
    assert not report.ok
    errors = [f.line() for f in report.findings if f.is_error]
    assert len(errors) == 1 and "id 2: high_shelf_freq=25000 is outside" in errors[0]


def test_report_on_a_foreign_file_is_one_error(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n")
    report = check_safe(path)
    assert not report.ok and "3 columns, expected 25" in report.findings[0].problem
    assert not is_safe_csv(path)
