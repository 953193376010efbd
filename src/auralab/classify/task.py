"""What the shared trainer needs to train a sound classifier: data, model, loss, validation."""

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from auralab.audio.files import audio_files
from auralab.audio.io import load
from auralab.check.dataset import read_table
from auralab.classify.augment import Augmenter
from auralab.classify.config import ClassifyConfig
from auralab.classify.data import ClipAudio, ClipDataset, dataset_path, load_clips, open_table
from auralab.classify.models import LogMelClassifier, build_model, load_init
from auralab.classify.splits import dataset_folds, fold_indices, refuse_leaks
from auralab.errors import ConfigError
from auralab.metrics.classification import classification_report


class ClassifyTask:
    """Sound classification: waveform clip in, class logits out, cross-entropy on soft targets.

    Args:
        config: the run's config; ``data.val_fold`` picks the held-out fold (0: none).
        check: refuse a dataset with errors (missing files, recordings across folds).
        audio: clips already decoded at ``data.sr`` (cross-validation decodes once for all
            folds); decoded from ``data.root`` when ``None``.
    """

    def __init__(self, config: ClassifyConfig, check: bool = True, audio: ClipAudio | None = None):
        self.config, self.check = config, check
        self.audio = audio
        self.augmenter: Augmenter | None = None
        self.init_report = None

    # ---- data ------------------------------------------------------------------------------
    def load_audio(self) -> ClipAudio:
        if self.audio is None:
            d = self.config.data
            root = dataset_path(d.root)
            table = open_table(root) if self.check else read_table(root)
            self.audio = load_clips(table, d.sr, d.clip_s)
        return self.audio

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """``(train, val)`` row indices of the decoded clips, refusing a leaking split."""
        d = self.config.data
        audio = self.load_audio()
        folds = dataset_folds(audio.table, d.n_folds, d.split_seed)
        train, val = fold_indices(folds, d.val_fold)
        refuse_leaks(audio.table, train, val)
        return train, val

    def build_data(self) -> tuple[Dataset, Dataset | None]:
        train, val = self.split()
        d, seed = self.config.data, self.config.trainer.seed
        audio = self.audio
        self.augmenter = Augmenter(self.config.augment, d.sr, self._backgrounds())
        batch = self.config.trainer.batch_size
        if len(train) < batch:
            # The trainer drops incomplete batches: fewer clips than one batch would never step.
            raise ConfigError(
                f"config key trainer.batch_size={batch} exceeds the {len(train)} training clips; "
                "lower it or add clips"
            )
        train_data = ClipDataset(audio, train, crop_s=d.crop_s, seed=seed)
        return train_data, (ClipDataset(audio, val) if len(val) else None)

    def _backgrounds(self) -> list[torch.Tensor]:
        a = self.config.augment
        if not a.p_background:
            return []
        files = [f for folder in a.background_dirs for f in audio_files(folder, "background")]
        return [load(f, sr=self.config.data.sr)[0] for f in files]

    # ---- model -----------------------------------------------------------------------------
    def build_model(self) -> LogMelClassifier:
        m = self.config.model
        model = build_model(m.name, **self._model_args())
        if m.init:
            self.init_report = load_init(model, m.init, m.init_rename, m.init_strict)
            print("\n".join(self.init_report.lines()))
        return model

    def _model_args(self) -> dict:
        f, m = self.config.features, self.config.model
        return {
            "labels": self.load_audio().table.labels,
            "sr": self.config.data.sr,
            "n_fft": f.n_fft,
            "hop": f.hop,
            "n_mels": f.n_mels,
            "f_min": f.f_min,
            "f_max": f.f_max,
            "dropout": m.dropout,
            "window_s": self.config.data.crop_s,
            **m.args,
        }

    def model_spec(self) -> dict:
        model = build_model(self.config.model.name, **self._model_args())
        return {"name": self.config.model.name, "config": model.config()}

    # ---- loss and validation ---------------------------------------------------------------
    def training_loss(self, model, batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Augment the batch (waveform, then log-mel), then soft-target cross-entropy."""
        core = getattr(model, "module", model)  # DDP wraps the model; the frontend has no weights
        wav = self.augmenter.waveform(batch["wav"])  # (B, T)
        feats = core.features(wav)  # (B, M, N)
        targets = F.one_hot(batch["label"], len(core.labels)).float()
        feats, targets = self.augmenter.spectrogram(feats, targets)
        logits = model(feats)
        smooth = self.config.label_smoothing
        targets = targets * (1 - smooth) + smooth / targets.shape[1]
        loss = -(targets * logits.log_softmax(dim=1)).sum(dim=1).mean()
        acc = (logits.argmax(1) == batch["label"]).float().mean()
        return loss, {"accuracy": float(acc)}

    def validate(self, model, data) -> dict[str, float]:
        """Accuracy, balanced accuracy, macro F1, ROC-AUC and loss on whole held-out clips."""
        probs, targets = predict(model, data)
        report = classification_report(probs, targets)
        loss = F.nll_loss(torch.from_numpy(probs).clamp_min(1e-8).log(), torch.from_numpy(targets))
        keys = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")
        return {**{k: report[k] for k in keys}, "loss": float(loss)}

    def log_examples(self, model, data, writer, step: int) -> None:
        """The validation confusion matrix as a figure in TensorBoard."""
        from auralab.classify.report import confusion_figure

        probs, targets = predict(model, data)
        cm = classification_report(probs, targets)["confusion"]
        writer.add_figure("val/confusion", confusion_figure(cm, model_labels(model)), step)


@torch.no_grad()
def predict(model, data: ClipDataset) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``(N, C)`` of whole clips (mean over their loud windows) and labels."""
    from auralab.classify.infer import predict_clips

    wavs = [data[i]["wav"] for i in range(len(data))]
    return predict_clips(model, wavs), np.asarray(data.targets)


def model_labels(model) -> list[str]:
    return list(getattr(model, "module", model).labels)
