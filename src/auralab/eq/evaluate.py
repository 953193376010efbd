"""Measure semantic-EQ generators against held-out human settings, in one comparison table.

Every system (auralab's model, the beta-VAE baseline, the per-term mean setting) is judged on
the test split of the model's own config (grouped by row hash, never trained on):

- parameter error: mean |generated - human| of normalised parameters (0..1 units);
- response error: mean |generated - human| magnitude response in dB, 20 Hz-20 kHz;
- descriptor accuracy: the share of generated settings that a separate classifier, trained on
  human training settings only, assigns to the term they were generated for;
- silhouette of the latent (held-out settings of the evaluated terms; > 0 means the terms form
  clusters);
- spectral centroid of the bundled music clip EQ'd along warm -> bright (must rise
  monotonically);
- frequency coverage: share of generated "bright" settings whose high shelf lies in 8-20 kHz,
  a region the human settings reach.

Errors and accuracy are averaged per term first, then over terms, so the two big SAFE terms
weigh alike.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from auralab.eq.data import SafeData
from auralab.eq.filters import apply_eq, log_frequency_grid, magnitude_db
from auralab.eq.models import EqModel
from auralab.eq.normalise import PARAM_NAMES, denormalise, normalise

HIGH_SHELF_FREQ = PARAM_NAMES.index("high_shelf_freq")
SHELF_REGION_HZ = (8000.0, 20000.0)


# ---- metrics: pure functions -----------------------------------------------------------------
def parameter_error(generated: torch.Tensor, human: torch.Tensor) -> float:
    """Mean absolute error in normalised units between one setting ``(13,)`` and ``(N, 13)``."""
    return float((generated[None] - human).abs().mean())


def response_error_db(generated: torch.Tensor, human: torch.Tensor, freqs=None) -> np.ndarray:
    """Mean absolute response difference in dB between one setting ``(13,)`` and each of
    ``(N, 13)`` (both normalised), over a log-frequency grid: ``(N,)``."""
    g = magnitude_db(denormalise(generated.double()), freqs)  # (F,)
    h = magnitude_db(denormalise(human.double()), freqs)  # (N, F)
    return (g[None] - h).abs().mean(-1).numpy()


def silhouette_score(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (Rousseeuw 1987) of points ``(N, D)`` with labels ``(N,)``, Euclidean.

    s(i) = (b - a) / max(a, b), a = mean distance to the own cluster (others), b = lowest mean
    distance to another cluster; points alone in their cluster score 0, as in scikit-learn.
    """
    x, labels = np.asarray(x, dtype=np.float64), np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError("silhouette needs at least two labels")
    dist = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).sum(-1), 0))  # (N, N)
    scores = np.zeros(len(x))
    for i in range(len(x)):
        own = labels == labels[i]
        if own.sum() < 2:
            continue
        a = dist[i, own].sum() / (own.sum() - 1)
        b = min(dist[i, labels == c].mean() for c in classes if c != labels[i])
        scores[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return float(scores.mean())


def spectral_centroid(wav, sr: int, n_fft: int = 4096) -> float:
    """Centroid in Hz of the long-term magnitude spectrum (frames averaged, channels mixed).

    Args:
        wav: ``(T,)`` or ``(C, T)`` waveform at ``sr`` Hz, at least ``n_fft`` samples.
    """
    x = np.asarray(wav, dtype=np.float64)
    x = x.mean(0) if x.ndim == 2 else x
    hop = n_fft // 2
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]  # (N, n_fft)
    mag = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)).mean(0)  # (F,)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    return float((freqs * mag).sum() / mag.sum())


class DescriptorClassifier:
    """Multinomial logistic regression on dB responses: the judge of descriptor accuracy.

    Trained on human settings only, so it says which term a setting sounds like to the people
    who made SAFE, independent of every generator.
    """

    def __init__(self, n_terms: int, l2: float = 1e-2, grid_points: int = 64):
        self.n_terms, self.l2 = n_terms, l2
        self.freqs = log_frequency_grid(grid_points)

    def features(self, unit: torch.Tensor) -> torch.Tensor:
        """``(N, 13)`` normalised settings -> ``(N, F)`` standardised dB responses."""
        db = magnitude_db(denormalise(unit.double()), self.freqs).float()
        return (db - self.mean) / self.std

    def fit(self, unit: torch.Tensor, labels: torch.Tensor) -> "DescriptorClassifier":
        db = magnitude_db(denormalise(unit.double()), self.freqs).float()
        self.mean, self.std = db.mean(0), db.std(0) + 1e-3
        x = (db - self.mean) / self.std
        self.linear = torch.nn.Linear(x.shape[1], self.n_terms)
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)
        opt = torch.optim.LBFGS(
            self.linear.parameters(), max_iter=200, line_search_fn="strong_wolfe"
        )

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(self.linear(x), labels)
            loss = loss + self.l2 * self.linear.weight.square().sum()
            loss.backward()
            return loss

        opt.step(closure)
        return self

    @torch.no_grad()
    def predict(self, unit: torch.Tensor) -> torch.Tensor:
        """``(N, 13)`` normalised settings -> ``(N,)`` term indices (into the evaluated terms)."""
        return self.linear(self.features(unit)).argmax(-1)


# ---- the systems compared ----------------------------------------------------------------------
class ModelSystem:
    """A trained EQ model as a system: its settings, samples and latent."""

    def __init__(self, name: str, model: EqModel):
        self.name, self.model = name, model.eval()

    @torch.no_grad()
    def setting(self, weights: torch.Tensor) -> torch.Tensor:
        """Term weights ``(S, T)`` -> normalised settings ``(S, 13)``."""
        return self.model.generate(weights)

    @torch.no_grad()
    def samples(self, term: int, n: int, seed: int) -> torch.Tensor:
        return self.model.sample(term, n, torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def latent(self, unit: torch.Tensor) -> np.ndarray | None:
        return self.model.latent(unit.float()).numpy()


class MeanSystem:
    """The per-term mean of the normalised training settings (interpolation is linear)."""

    def __init__(self, train: SafeData, terms: list[str], name: str = "per-term mean"):
        unit = normalise(train.params).float()
        labels = np.array(train.terms)
        self.name = name
        self.means = torch.stack([unit[torch.from_numpy(labels == t)].mean(0) for t in terms])

    def setting(self, weights: torch.Tensor) -> torch.Tensor:
        return weights.float() @ self.means

    def samples(self, term: int, n: int, seed: int) -> torch.Tensor:
        return self.means[term].expand(n, -1)

    def latent(self, unit: torch.Tensor) -> None:
        return None


# ---- the evaluation ------------------------------------------------------------------------------
@dataclass
class SystemScores:
    """One row of the comparison table (``None`` where a measure does not apply)."""

    name: str
    param_error: float | None = None
    response_db: float | None = None
    accuracy: float | None = None
    silhouette: float | None = None
    centroid_hz: list[float] = field(default_factory=list)
    monotone: bool | None = None
    bright_shelf_share: float | None = None
    bright_shelf_max_hz: float | None = None
    per_term: dict = field(default_factory=dict)
    per_row_response_db: list[float] = field(default_factory=list)  # held-out rows, term order


@dataclass
class EqEvaluation:
    """The whole evaluation: table rows, the terms and rows it used, and where plots went."""

    rows: list[SystemScores]
    terms: list[str]
    n_test: dict[str, int]
    music_centroid_hz: float
    interpolation: tuple[str, str]
    plots: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The comparison table as printable text."""
        a, b = self.interpolation
        header = (
            f"{'system':<22}{'param err':>10}{'resp err dB':>12}{'descr acc':>10}"
            f"{'silhouette':>11}  {a}->{b} centroid Hz (monotone){'':>2}{'bright HS 8-20k':>16}"
        )
        lines = [header, "-" * len(header)]
        for r in self.rows:
            centroid = (
                f"{r.centroid_hz[0]:.0f} -> {r.centroid_hz[-1]:.0f} "
                f"({'yes' if r.monotone else 'no'})"
                if r.centroid_hz
                else "-"
            )
            shelf = (
                f"{100 * r.bright_shelf_share:.0f} % (max {r.bright_shelf_max_hz / 1000:.1f}k)"
                if r.bright_shelf_share is not None
                else "-"
            )
            lines.append(
                f"{r.name:<22}{_fmt(r.param_error, 3):>10}{_fmt(r.response_db, 2):>12}"
                f"{_fmt(r.accuracy, 3):>10}{_fmt(r.silhouette, 3):>11}  "
                f"{centroid:<{len(a) + len(b) + 27}}{shelf:>16}"
            )
        lines += self.comparisons()
        counts = ", ".join(f"{t} {n}" for t, n in self.n_test.items())
        lines.append(
            f"held-out rows: {counts}; unprocessed music centroid {self.music_centroid_hz:.0f} Hz"
        )
        return "\n".join(lines)

    def comparisons(self) -> list[str]:
        """Paired bootstrap of the first system's response error against each other system."""
        from auralab.metrics.stats import paired_bootstrap

        first, *others = [r for r in self.rows if r.per_row_response_db]
        lines = []
        for other in others:
            d = paired_bootstrap(first.per_row_response_db, other.per_row_response_db)
            lo, hi = d["ci95"]
            lines.append(
                f"response error {first.name} - {other.name}: {d['mean']:+.3f} dB "
                f"(95 % CI {lo:+.3f} .. {hi:+.3f}, n={d['n']} held-out rows)"
            )
        return lines

    def to_json(self) -> dict:
        return {
            "terms": self.terms,
            "n_test": self.n_test,
            "music_centroid_hz": self.music_centroid_hz,
            "interpolation": list(self.interpolation),
            "rows": [asdict(r) for r in self.rows],
            "plots": self.plots,
        }


def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def evaluation_terms(test: SafeData, vocabulary: list[str], min_rows: int = 20) -> list[str]:
    """Terms of the vocabulary with at least ``min_rows`` held-out rows, most common first."""
    counts = test.counts()
    return [t for t in vocabulary if counts[t] >= min_rows]


def evaluate(
    systems: list,
    train: SafeData,
    test: SafeData,
    vocabulary: list[str],
    music: tuple[np.ndarray, int],
    terms: list[str] | None = None,
    interpolation: tuple[str, str] = ("warm", "bright"),
    n_samples: int = 64,
    steps: int = 9,
    seed: int = 0,
) -> EqEvaluation:
    """Score each system on the held-out rows; returns the table rows (see module docstring).

    Args:
        systems: ``ModelSystem`` / ``MeanSystem`` objects, all over ``vocabulary``.
        train, test: human settings of the model's training and test splits.
        vocabulary: the models' terms, in term-index order.
        music: ``(wav (C, T), sr)`` for the spectral-centroid check.
        terms: terms to evaluate (default: those with >= 20 held-out rows).
        n_samples: generated settings per term for accuracy and coverage.
        steps: settings along the interpolation.
    """
    terms = terms or evaluation_terms(test, vocabulary)
    if len(terms) < 2:
        raise ValueError(f"evaluation needs two terms with held-out rows, got {terms}")
    human = {t: normalise(test.params[np.array(test.terms) == t]).float() for t in terms}
    judge = _train_judge(train, terms)
    rows = [
        _score_system(
            s, human, judge, terms, vocabulary, music, interpolation, n_samples, steps, seed
        )
        for s in systems
    ]
    rows.append(_human_row(human, judge, terms, test))
    return EqEvaluation(
        rows=rows,
        terms=terms,
        n_test={t: len(h) for t, h in human.items()},
        music_centroid_hz=spectral_centroid(*music),
        interpolation=interpolation,
    )


def _train_judge(train: SafeData, terms: list[str]) -> DescriptorClassifier:
    keep = np.isin(train.terms, terms)
    unit = normalise(train.params[keep]).float()
    labels = torch.tensor([terms.index(t) for t in np.array(train.terms)[keep]])
    return DescriptorClassifier(len(terms)).fit(unit, labels)


def _score_system(system, human, judge, terms, vocab, music, interp, n_samples, steps, seed):
    row = SystemScores(system.name)
    eye = torch.eye(len(vocab))
    correct, shares = [], {}
    for j, term in enumerate(terms):
        k = vocab.index(term)
        setting = system.setting(eye[k : k + 1])[0]
        samples = system.samples(k, n_samples, seed + k)
        p_err = parameter_error(setting, human[term])
        r_err = response_error_db(setting, human[term])
        row.per_row_response_db += r_err.tolist()
        acc = float((judge.predict(samples) == j).float().mean())
        row.per_term[term] = {
            "param_error": p_err,
            "response_db": float(r_err.mean()),
            "accuracy": acc,
        }
        correct.append(acc)
        shares[term] = denormalise(samples.double())[:, HIGH_SHELF_FREQ]
    row.param_error = float(np.mean([v["param_error"] for v in row.per_term.values()]))
    row.response_db = float(np.mean([v["response_db"] for v in row.per_term.values()]))
    row.accuracy = float(np.mean(correct))
    row.silhouette = _latent_silhouette(system, human, terms)
    if interp[1] in shares:
        hs = shares[interp[1]]
        row.bright_shelf_share = float((hs >= SHELF_REGION_HZ[0]).double().mean())
        row.bright_shelf_max_hz = float(hs.max())
    if all(t in vocab for t in interp):
        row.centroid_hz = _centroid_path(system, vocab, interp, music, steps)
        row.monotone = bool(np.all(np.diff(row.centroid_hz) > 0))
    return row


def _latent_silhouette(system, human, terms) -> float | None:
    units = torch.cat([human[t] for t in terms])
    z = system.latent(units)
    if z is None:
        return None
    labels = np.concatenate([np.full(len(human[t]), i) for i, t in enumerate(terms)])
    return silhouette_score(z, labels)


def _centroid_path(system, vocab, interp, music, steps) -> list[float]:
    wav, sr = music
    eye = torch.eye(len(vocab))
    t = torch.linspace(0, 1, steps)[:, None]
    weights = (1 - t) * eye[vocab.index(interp[0])] + t * eye[vocab.index(interp[1])]
    settings = denormalise(system.setting(weights).double())
    return [spectral_centroid(apply_eq(wav, sr, s), sr) for s in settings]


def _human_row(human, judge, terms, test) -> SystemScores:
    # Reference row: how the judge does on held-out human settings, and how well the raw
    # (normalised) parameters cluster by term, to read the latents' silhouettes against.
    row = SystemScores("human (held-out)")
    row.accuracy = float(
        np.mean([(judge.predict(human[t]) == j).float().mean() for j, t in enumerate(terms)])
    )
    units = torch.cat([human[t] for t in terms]).numpy()
    labels = np.concatenate([np.full(len(human[t]), i) for i, t in enumerate(terms)])
    row.silhouette = silhouette_score(units, labels)
    bright = "bright" if "bright" in human else terms[1]
    hs = denormalise(human[bright].double())[:, HIGH_SHELF_FREQ]
    row.bright_shelf_share = float((hs >= SHELF_REGION_HZ[0]).double().mean())
    row.bright_shelf_max_hz = float(hs.max())
    return row


# ---- plots ---------------------------------------------------------------------------------------
def plot_latents(systems: list, data: SafeData, terms: list[str], path: str | Path) -> Path:
    """2-D projections (PCA) of the latent of each latent system, coloured by term."""
    from auralab.eq.generate import save_figure
    from auralab.report.plots import plt

    latent_systems = [s for s in systems if isinstance(s, ModelSystem)]
    keep = np.isin(data.terms, terms)
    unit = normalise(data.params[keep]).float()
    labels = np.array(data.terms)[keep]
    fig, axes = plt.subplots(1, len(latent_systems), figsize=(5 * len(latent_systems), 4.2))
    for ax, system in zip(np.atleast_1d(axes), latent_systems, strict=True):
        xy = _pca2(system.latent(unit))
        for term in terms:
            pts = xy[labels == term]
            ax.scatter(pts[:, 0], pts[:, 1], s=8, alpha=0.6, label=f"{term} ({len(pts)})")
        ax.set(title=f"{system.name} latent (PCA)", xlabel="PC 1", ylabel="PC 2")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def _pca2(z: np.ndarray) -> np.ndarray:
    z = z - z.mean(0)
    if z.shape[1] == 1:
        return np.concatenate([z, np.zeros_like(z)], 1)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    return z @ vt[:2].T


def plot_responses(systems: list, test: SafeData, vocab: list[str], terms: list[str], path) -> Path:
    """Per term: held-out human responses (median, 25-75 %) and each system's setting."""
    from auralab.eq.generate import save_figure
    from auralab.report.plots import plt

    freqs = log_frequency_grid(256)
    fig, axes = plt.subplots(1, len(terms), figsize=(5.5 * len(terms), 3.8), sharey=True)
    eye = torch.eye(len(vocab))
    for ax, term in zip(np.atleast_1d(axes), terms, strict=True):
        db = magnitude_db(torch.as_tensor(test.params[np.array(test.terms) == term]), freqs)
        lo, mid, hi = np.percentile(db.numpy(), [25, 50, 75], axis=0)
        ax.fill_between(freqs, lo, hi, color="grey", alpha=0.25, label="human 25-75 %")
        ax.plot(freqs, mid, "k--", lw=1, label="human median")
        for system in systems:
            k = vocab.index(term)
            unit = system.setting(eye[k : k + 1])[0]
            ax.plot(
                freqs, magnitude_db(denormalise(unit.double()), freqs), lw=1.8, label=system.name
            )
        ax.set(xscale="log", xlim=(20, 20000), title=f"{term}", xlabel="Hz", ylabel="dB")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def write_report(result: EqEvaluation, out_dir: str | Path) -> Path:
    """``summary.json`` and ``table.txt`` in ``out_dir``; returns the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(result.to_json(), indent=2))
    (out / "table.txt").write_text(result.table() + "\n")
    return out
