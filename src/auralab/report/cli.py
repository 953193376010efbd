"""``auralab report RUN_DIR... -o DIR``: one HTML page, one Markdown file and a LaTeX table.

Each folder is recognised by the files the commands that made it leave behind:

- a training run (``config.toml`` + ``metrics.jsonl``, from ``auralab train``);
- an enhancement evaluation (``summary.json`` + ``per_file.csv``, from ``auralab evaluate``);
- a cross-validation (``summary.json`` with ``folds``, from ``auralab crossval``);
- an EQ evaluation (``summary.json`` with ``rows``, from ``auralab eq evaluate``).
"""

import json
import math
import tomllib
from pathlib import Path

from auralab.atomic import atomic_write_bytes, atomic_write_text
from auralab.errors import AuralabError, DataError
from auralab.metrics.stats import FEW_FILES
from auralab.report.latex import to_latex
from auralab.report.render import Section, Table, to_html, to_markdown
from auralab.text import count as _count

EXPECTED = (
    "config.toml + metrics.jsonl (training run), summary.json + per_file.csv (auralab evaluate), "
    "summary.json with folds (auralab crossval) or summary.json with rows (auralab eq evaluate)"
)


def _fmt(x, digits: int = 3, sign: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:{sign}.{digits}f}"


def _mean_ci(stat: dict) -> str:
    """``mean ± half-width`` of a ``mean_ci`` record (the interval is symmetric)."""
    lo, hi = stat["ci95"]
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{_fmt(stat['mean'])} (n={stat['n']})"
    return f"{_fmt(stat['mean'])} ± {_fmt((hi - lo) / 2)}"


class _Assets:
    """Copies figures into ``OUT/assets`` under unique names; returns their relative paths."""

    def __init__(self, out: Path):
        self.out, self.used = out, set()

    def add(self, png: Path, prefix: str) -> str:
        return self.write(png.read_bytes(), png.name, prefix)

    def write(self, data: bytes, filename: str, prefix: str) -> str:
        """Write a figure made by the report itself (e.g. ``attention.png``)."""
        name = f"{prefix}-{filename}"
        while name in self.used:
            name = f"{prefix}-{len(self.used)}-{filename}"
        self.used.add(name)
        atomic_write_bytes(self.out / "assets" / name, data)
        return f"assets/{name}"


def detect(folder: Path) -> str:
    """Which kind of output ``folder`` holds: train, evaluate, crossval or eq.

    Raises:
        DataError: the folder is none of these, naming it and the files expected.
    """
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; expected one holding {EXPECTED}")
    if (folder / "config.toml").is_file() and (folder / "metrics.jsonl").is_file():
        return "train"
    summary = _read_summary(folder)
    if summary is not None:
        if "systems" in summary and (folder / "per_file.csv").is_file():
            return "evaluate"
        if "folds" in summary and "pooled" in summary:
            return "crossval"
        if "rows" in summary and "terms" in summary:
            return "eq"
    raise DataError(f"{folder} is not a run or evaluation folder; expected {EXPECTED}")


def _read_summary(folder: Path) -> dict | None:
    path = folder / "summary.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is not valid JSON ({e}); rerun the command") from e
    return data if isinstance(data, dict) else None


def train_section(folder: Path, assets: _Assets, prefix: str) -> Section:
    """Config, last and best value of each logged validation metric, training curves."""
    records = _read_jsonl(folder / "metrics.jsonl")
    s = Section(f"{folder.name} (training run)", folder)
    s.config, s.config_lang = (folder / "config.toml").read_text(), "toml"
    keys = sorted({k for r in records for k in r if k.startswith("val/")})
    rows = []
    for k in keys:
        pts = [(r["step"], r[k]) for r in records if r.get(k) is not None]
        if pts:
            best = (min if _lower_is_better(k) else max)(pts, key=lambda p: p[1])
            rows.append([k, _fmt(pts[-1][1], 4), str(pts[-1][0]), _fmt(best[1], 4), str(best[0])])
    if rows:
        header = ["metric", "last", "at step", "best", "at step"]
        s.tables.append(Table(f"{folder.name}: validation metrics", header, rows))
    if (folder / "training_curves.png").is_file():
        s.figures.append(("training curves", assets.add(folder / "training_curves.png", prefix)))
    _attention(folder, s, assets, prefix)
    return s


def _attention(folder: Path, s: Section, assets: _Assets, prefix: str) -> None:
    """Attention maps of an enhancement run's checkpoint on the bundled example clip.

    Only for ``task = "enhance"`` runs with a checkpoint and a model that has attention
    (``cnn_transformer``, ``dpt``); any other run gets no attention figure.
    """
    has_checkpoint = (folder / "best.pt").is_file() or (folder / "last.pt").is_file()
    if _task(folder) != "enhance" or not has_checkpoint:
        return
    from auralab.report.attention import example_attention
    from auralab.report.plots import attention_figure, png_bytes

    try:
        maps, what = example_attention(folder)
    except AuralabError as e:  # a broken checkpoint costs the figure, not the report
        s.notes.append(f"attention maps not drawn: {e}")
        return
    if not maps:
        return
    src = assets.write(png_bytes(attention_figure(maps)), "attention.png", prefix)
    s.figures.append((f"attention maps (rows: layers, columns: heads) of {what}", src))
    shown = dict.fromkeys(f"{m.axis} attention within {m.where}" for m in maps)
    s.notes.append(f"attention maps: {', '.join(shown)} (the clip's loudest band and frame).")


def _task(folder: Path) -> str | None:
    try:
        return tomllib.loads((folder / "config.toml").read_text()).get("task")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None


def _read_jsonl(path: Path) -> list[dict]:
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: line {e.lineno} is not valid JSON ({e.msg})") from e


def _lower_is_better(key: str) -> bool:
    from auralab.metrics import LOWER_IS_BETTER

    name = key.removeprefix("val/")
    return "loss" in name or "error" in name or name in LOWER_IS_BETTER


def evaluate_section(folder: Path, assets: _Assets, prefix: str) -> Section:
    """Noisy baseline and enhanced means with 95 % CIs, paired deltas, spectrograms."""
    summary = _read_summary(folder)
    s = Section(f"{folder.name} (speech enhancement evaluation)", folder)
    systems, deltas = summary["systems"], summary.get("delta_vs_noisy") or {}
    metrics = list(next(iter(systems.values()), {}))
    header = ["metric", *systems] + (["delta vs noisy [95% CI]", "better"] if deltas else [])
    rows = []
    for m in metrics:
        row = [m] + [_mean_ci(systems[name][m]) for name in systems]
        if m in deltas:
            d = deltas[m]
            lo, hi = d["ci95"]
            row.append(f"{_fmt(d['mean'], sign='+')} [{_fmt(lo, sign='+')}, {_fmt(hi, sign='+')}]")
            row.append(d.get("better", "-"))
        elif deltas:
            row += ["-", "-"]
        rows.append(row)
    caption = f"{folder.name}: mean ± 95 % CI half-width over files"
    s.tables.append(Table(caption, header, rows))
    s.notes.append("delta: enhanced minus noisy per file, paired bootstrap 95 % CI.")
    n = max((st.get("n", 0) for sys_ in systems.values() for st in sys_.values()), default=0)
    if n < FEW_FILES:
        s.notes.append(
            f"Only {n} file{'s' if n != 1 else ''}: intervals from so few files are not real 95 % "
            "intervals; read them as the spread and score more files before comparing systems."
        )
    s.config, s.config_lang = json.dumps(_meta(summary), indent=2), "json"
    for png in sorted((folder / "spectrograms").glob("*.png")):
        s.figures.append((f"spectrograms: {png.stem}", assets.add(png, prefix)))
    return s


def _meta(summary: dict) -> dict:
    skip = {"systems", "delta_vs_noisy"}
    return {k: v for k, v in summary.items() if k not in skip}


def crossval_section(folder: Path, assets: _Assets, prefix: str) -> Section:
    """Per-fold scores, mean ± sample std over folds, pooled confusion matrix."""
    summary = _read_summary(folder)
    s = Section(f"{folder.name} (cross-validation)", folder)
    metrics = list(summary["mean"])
    rows = [[f"fold {f['fold']}", *(_fmt(f[m], 4) for m in metrics)] for f in summary["folds"]]
    std = summary.get("std") or {}
    rows.append(
        ["mean ± std", *(f"{_fmt(summary['mean'][m], 4)} ± {_fmt(std.get(m), 4)}" for m in metrics)]
    )
    s.tables.append(Table(f"{folder.name}: scores per fold", ["fold", *metrics], rows))
    s.notes.append(summary.get("std_note", "std over folds"))
    if "config" in summary:
        s.config, s.config_lang = json.dumps(summary["config"], indent=2), "json"
    if (folder / "confusion.png").is_file():
        s.figures.append(("confusion matrix", assets.add(folder / "confusion.png", prefix)))
    return s


def eq_section(folder: Path, assets: _Assets, prefix: str) -> Section:
    """System comparison table, the printed comparisons, latent and response plots."""
    summary = _read_summary(folder)
    s = Section(f"{folder.name} (semantic EQ evaluation)", folder)
    cols = [("param_error", 3), ("response_db", 2), ("accuracy", 3), ("silhouette", 3)]
    rows = [[r["name"], *(_fmt(r.get(c), d) for c, d in cols)] for r in summary["rows"]]
    header = ["system", "param error", "response error dB", "descriptor acc", "silhouette"]
    s.tables.append(Table(f"{folder.name}: EQ systems on held-out rows", header, rows))
    deltas = _eq_deltas(summary["rows"])
    if deltas:
        header = ["comparison", "mean dB", "95% CI"]
        s.tables.append(Table(f"{folder.name}: paired response error difference", header, deltas))
        s.notes.append("paired bootstrap over held-out rows; negative: the first system is closer.")
    for name, caption in [("responses.png", "EQ response curves"), ("latent.png", "latent space")]:
        if (folder / name).is_file():
            s.figures.append((caption, assets.add(folder / name, prefix)))
    return s


def _eq_deltas(rows: list[dict]) -> list[list[str]]:
    """Response error of the first system minus each other one, paired over held-out rows.

    Recomputed with the same seeded bootstrap ``auralab eq evaluate`` prints, since
    ``summary.json`` keeps the per-row errors but not the comparison itself.
    """
    from auralab.metrics.stats import paired_bootstrap

    scored = [r for r in rows if r.get("per_row_response_db")]
    if len(scored) < 2:
        return []
    first, *others = scored
    out = []
    for other in others:
        d = paired_bootstrap(first["per_row_response_db"], other["per_row_response_db"])
        lo, hi = d["ci95"]
        ci = f"[{_fmt(lo, sign='+')}, {_fmt(hi, sign='+')}]"
        out.append([f"{first['name']} - {other['name']}", _fmt(d["mean"], sign="+"), ci])
    return out


BUILDERS = {
    "train": train_section,
    "evaluate": evaluate_section,
    "crossval": crossval_section,
    "eq": eq_section,
}


def build_report(folders: list[Path], out: Path) -> list[Section]:
    """Read every folder and write ``report.html``, ``report.md`` and ``table.tex`` to ``out``.

    Every folder is recognised before anything is written, so a bad one leaves ``out`` alone.
    """
    kinds = [detect(f) for f in folders]
    assets = _Assets(out)
    sections = [
        BUILDERS[kind](folder, assets, f"{i}-{kind}")
        for i, (folder, kind) in enumerate(zip(folders, kinds, strict=True))
    ]
    atomic_write_text(out / "report.html", to_html(sections))
    atomic_write_text(out / "report.md", to_markdown(sections))
    atomic_write_text(out / "table.tex", to_latex(sections))
    return sections


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="HTML/Markdown report and LaTeX table for run and evaluation folders",
        description="Render report.html (self-contained, figures in OUT/assets), report.md and "
        "table.tex (booktabs) for training runs, `auralab evaluate`, `auralab crossval` and "
        "`auralab eq evaluate` output folders.",
    )
    p.add_argument("folders", nargs="+", type=Path, metavar="RUN_DIR", help="folders to report")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.set_defaults(run=run)


def run(args) -> int:
    sections = build_report(args.folders, args.out)
    outputs = f"{args.out}/report.html, report.md, table.tex"
    print(f"{_count(len(sections), 'folder')} reported: {outputs}")
    return 0
