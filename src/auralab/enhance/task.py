"""What the shared trainer needs to train an enhancement model: data, model, loss, validation."""

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from auralab.data import MixingDataset, PairedSpeechDataset
from auralab.enhance.config import EnhanceConfig
from auralab.enhance.losses import WeightedLoss
from auralab.enhance.models import build_model
from auralab.errors import ConfigError
from auralab.metrics import pesq, si_sdr, stoi


class EnhanceTask:
    """Speech enhancement: noisy waveform in, enhanced waveform out, judged on waveforms."""

    def __init__(self, config: EnhanceConfig, check: bool = True):
        self.config = config
        self.check = check
        self.loss = WeightedLoss(config.loss)

    def build_data(self) -> tuple[Dataset, Dataset]:
        d = self.config.data
        seed = self.config.trainer.seed
        if d.source == "mix":
            train = _mixes(d.clean_dirs, d.noise_dirs, d, d.segment_s, seed, "data.clean_dirs")
        else:
            train = self._pairs(d.noisy_dir, d.clean_dir, d.segment_s, seed, "data.noisy_dir")
        if d.val_source == "mix":
            val = _mixes(
                d.val_clean_dirs,
                d.val_noise_dirs,
                d,
                d.val_segment_s,
                seed + 1,
                "data.val_clean_dirs",
            )
        else:
            val = self._pairs(d.val_noisy_dir, d.val_clean_dir, None, seed, "data.val_noisy_dir")
        return train, _fixed_subset(val, d.val_items, seed)

    def _pairs(self, noisy_dir, clean_dir, segment_s, seed, key) -> Dataset:
        if not noisy_dir:
            raise ConfigError(f"config key {key} is empty; set the noisy and clean folders")
        if self.check:
            _refuse_bad_pairs(noisy_dir, clean_dir)
        return PairedSpeechDataset(
            noisy_dir, clean_dir, segment_s=segment_s, sr=self.config.data.sr, seed=seed
        )

    def build_model(self) -> torch.nn.Module:
        return build_model(
            self.config.model.name, **{"sr": self.config.data.sr, **self.config.model.args}
        )

    def model_spec(self) -> dict:
        model = self.build_model()
        return {"name": self.config.model.name, "config": model.config()}

    def training_loss(self, model, batch) -> tuple[torch.Tensor, dict[str, float]]:
        enhanced = model(batch["noisy"])  # (B, T)
        return self.loss(enhanced, batch["clean"])

    def validate(self, model, data) -> dict[str, float]:
        """PESQ-wb, STOI and SI-SDR on the enhanced waveforms of the fixed validation subset."""
        sr = self.config.data.sr
        scores: dict[str, list[float]] = {"pesq_wb": [], "stoi": [], "si_sdr": [], "loss": []}
        device = next(model.parameters()).device
        for i in range(len(data)):
            item = data[i]
            enhanced = model(item["noisy"][None].to(device))
            scores["loss"].append(float(self.loss(enhanced, item["clean"][None].to(device))[0]))
            e, c = enhanced[0].cpu().numpy(), item["clean"].numpy()
            scores["pesq_wb"].append(pesq(e, c, sr) if sr == 16000 else float("nan"))
            scores["stoi"].append(stoi(e, c, sr))
            scores["si_sdr"].append(si_sdr(e, c))
        return {k: float(np.nanmean(v)) for k, v in scores.items()}

    def log_examples(self, model, data, writer, step: int) -> None:
        """Two validation examples as audio and spectrogram images in TensorBoard."""
        from auralab.report.plots import spectrogram_figure

        sr = self.config.data.sr
        device = next(model.parameters()).device
        for i in range(min(2, len(data))):
            item = data[i]
            enhanced = model(item["noisy"][None].to(device))[0].cpu()
            for kind, wav in (
                ("noisy", item["noisy"]),
                ("enhanced", enhanced),
                ("clean", item["clean"]),
            ):
                writer.add_audio(f"example{i}/{kind}", wav.clamp(-1, 1)[None], step, sample_rate=sr)
            writer.add_figure(
                f"example{i}/spectrograms",
                spectrogram_figure(
                    {"noisy": item["noisy"], "enhanced": enhanced, "clean": item["clean"]}, sr
                ),
                step,
            )


def _mixes(clean_dirs, noise_dirs, d, segment_s, seed, key) -> Dataset:
    if not clean_dirs or not noise_dirs:
        raise ConfigError(
            f"config key {key} (and its noise dirs) must list folders for source='mix'"
        )
    return MixingDataset(
        clean_dirs,
        noise_dirs,
        snr_db=tuple(d.snr_db),
        segment_s=segment_s,
        sr=d.sr,
        gain_db=tuple(d.gain_db),
        seed=seed,
    )


def _fixed_subset(data: Dataset, n: int, seed: int) -> Dataset:
    # Validation draws at epoch 0 forever, so every validation scores the same items.
    if n <= 0 or n >= len(data):
        return data
    idx = np.random.default_rng(seed).choice(len(data), size=n, replace=False)
    return Subset(data, sorted(idx.tolist()))


def _refuse_bad_pairs(noisy_dir, clean_dir) -> None:
    from auralab.check import check_pairs
    from auralab.errors import DataError

    report = check_pairs(noisy_dir, clean_dir)
    if not report.ok:
        lines = [f.line() for f in report.findings if f.severity == "error"]
        raise DataError(
            f"{len(lines)} bad pairs in {Path(noisy_dir)} (first: {lines[0]}); "
            "fix them (see `auralab check pairs`) or pass --no-check"
        )
