"""What the shared trainer needs to train a semantic-EQ model: data, model, loss, validation."""

import torch
from torch.utils.data import Dataset

from auralab.eq.config import EqConfig
from auralab.eq.data import (
    SafeData,
    SafeSettings,
    Vocabulary,
    check_bounds,
    read_safe_csv,
    select_terms,
    split_indices,
    term_list,
)
from auralab.eq.models import EqLoss, build_model
from auralab.eq.models.losses import DB_SCALE, response_db


def load_splits(config: EqConfig, csv: str | None = None) -> tuple[dict[str, SafeData], list]:
    """The SAFE rows of a config, split by group, and the term vocabulary (by count).

    Args:
        config: the run's config (its ``data`` section decides terms and split).
        csv: another path of the same SAFE file (default ``config.data.csv``).

    Returns:
        ``({"train": ..., "val": ..., "test": ...}, terms)``.
    """
    d = config.data
    data = select_terms(read_safe_csv(csv or d.csv), Vocabulary(d.min_count, d.merge, d.drop))
    check_bounds(data)
    index = split_indices(data, d.val_fraction, d.test_fraction, d.split_seed)
    return {name: data.subset(idx) for name, idx in index.items()}, term_list(data)


class EqTask:
    """Semantic EQ: settings and their descriptors in, a term-conditioned generator out."""

    def __init__(self, config: EqConfig, check: bool = True):
        self.config = config
        self.check = check  # the loader always refuses out-of-bounds rows; nothing else to skip
        self.loss = EqLoss(config.loss)
        self.splits, self.terms = load_splits(config)
        self.train_set = SafeSettings(self.splits["train"], self.terms)

    def build_data(self) -> tuple[Dataset, Dataset]:
        return self.train_set, SafeSettings(self.splits["val"], self.terms)

    def build_model(self) -> torch.nn.Module:
        return build_model(self.config.model.name, terms=self.terms, **self.config.model.args)

    def model_spec(self) -> dict:
        return {"name": self.config.model.name, "config": self.build_model().config()}

    def training_loss(self, model, batch) -> tuple[torch.Tensor, dict[str, float]]:
        return self.loss(model, batch)

    def validate(self, model, data: SafeSettings) -> dict[str, float]:
        """Reconstruction and generation errors on the validation rows.

        First refits the term latent centres on all training settings, so the checkpoint saved
        after this validation generates from exact centres.
        """
        device = next(model.parameters()).device
        model.fit_term_stats(self.train_set.params.to(device), self.train_set.terms.to(device))
        params, terms = data.params.to(device), data.terms.to(device)
        recon = model(params, terms)["recon"]
        target = response_db(params, self.loss.freqs)  # (N, F)
        generated = response_db(model.generate(model.one_hot(terms)), self.loss.freqs)
        metrics = {
            "param_mae": float((recon - params).abs().mean()),
            "response_db": float((response_db(recon, self.loss.freqs) - target).abs().mean()),
            "gen_response_db": float((generated - target).abs().mean()),
        }
        cfg = self.config.loss
        metrics["loss"] = (
            cfg.params * metrics["param_mae"]
            + (
                cfg.response * metrics["response_db"]
                + cfg.term_response * metrics["gen_response_db"]
            )
            / DB_SCALE
        )
        return metrics

    def log_examples(self, model, data, writer, step: int) -> None:
        """Generated responses of the two most common terms, as a TensorBoard figure."""
        from auralab.eq.generate import response_figure
        from auralab.eq.normalise import denormalise

        top = self.terms[:2]
        units = model.generate(model.one_hot(torch.arange(len(top))))
        settings = {t: denormalise(u) for t, u in zip(top, units, strict=True)}
        writer.add_figure("generated_responses", response_figure(settings), step)
