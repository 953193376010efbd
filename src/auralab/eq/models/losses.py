"""Losses of the semantic-EQ models: on normalised settings, on dB responses, on the latent.

All response terms compare magnitude responses on a log-frequency grid (20 Hz-20 kHz at
44.1 kHz) in dB, divided by 12 dB so a response error weighs like a parameter error in [0, 1].
"""

import torch

from auralab.eq.config import EqLossConfig
from auralab.eq.filters import log_frequency_grid, magnitude_db
from auralab.eq.normalise import denormalise

DB_SCALE = 12.0


def response_db(unit: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """``(B, 13)`` normalised settings -> ``(B, F)`` float64 responses in dB (differentiable)."""
    return magnitude_db(denormalise(unit.double()), freqs)


def supervised_contrastive(z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1):
    """Supervised contrastive loss (Khosla et al., 2020) on L2-normalised latents.

    Each latent is pulled towards the others of its label and pushed from the rest. Anchors
    without a positive in the batch are skipped; with none at all the loss is 0.

    Args:
        z: ``(B, D)`` latents.
        labels: ``(B,)`` integer labels.
    """
    u = torch.nn.functional.normalize(z, dim=-1)
    logits = u @ u.T / temperature  # (B, B)
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = positive.sum(1)
    has_pos = n_pos > 0
    if not has_pos.any():
        return z.sum() * 0.0
    pos_log_prob = log_prob.masked_fill(~positive, 0.0).sum(1)
    return -(pos_log_prob[has_pos] / n_pos[has_pos]).mean()


def ramp(step: int, start: int, end: int) -> float:
    """0 before ``start``, 1 after ``end``, linear between: the contrastive weight's schedule."""
    return min(1.0, max(0.0, (step - start) / (end - start)))


class EqLoss:
    """The weighted training loss of an EQ model (weights from ``EqLossConfig``)."""

    def __init__(self, config: EqLossConfig):
        self.cfg = config
        self.freqs = log_frequency_grid(config.grid_points)

    def __call__(self, model, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of one batch ``{"params": (B, 13), "term": (B,)}``; counts a step when training."""
        inner = getattr(model, "module", model)  # the model itself under DDP
        out = model(batch["params"], batch["term"])
        terms = self.reconstruction(out["recon"], batch["params"])
        cfg = self.cfg
        if cfg.kl and "logvar" in out:
            mu, logvar = out["mu"], out["logvar"]
            terms["kl"] = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).mean()
        if cfg.contrastive:
            terms["contrastive"] = supervised_contrastive(out["z"], batch["term"], cfg.temperature)
        if cfg.term_response:
            terms["term_response"] = self.term_response(inner, out["z"], batch)
        weights = self.weights(int(inner.steps))
        loss = sum(weights[k] * v for k, v in terms.items())
        if inner.training:
            inner.steps += 1
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs["contrastive_weight"] = weights.get("contrastive", 0.0)
        return loss, logs

    def weights(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        return {
            "params": cfg.params,
            "response": cfg.response,
            "kl": cfg.kl,
            "term_response": cfg.term_response,
            "contrastive": cfg.contrastive * ramp(step, cfg.contrastive_start, cfg.contrastive_end),
        }

    def reconstruction(self, recon: torch.Tensor, target: torch.Tensor) -> dict:
        """Parameter L1 and, when weighted, response L1 (dB / 12) of ``(B, 13)`` settings."""
        terms = {"params": (recon - target).abs().mean()}
        if self.cfg.response:
            diff = response_db(recon, self.freqs) - response_db(target, self.freqs)
            terms["response"] = diff.abs().mean().float() / DB_SCALE
        return terms

    def term_response(self, model, z: torch.Tensor, batch: dict) -> torch.Tensor:
        """Response L1 (dB / 12) between each term's decoded batch centre and its members."""
        weights = model.one_hot(batch["term"])  # (B, T)
        counts = weights.sum(0)  # (T,)
        present = counts > 0
        centres = (weights.T @ z)[present] / counts[present, None]  # (T', D)
        eye = torch.eye(len(counts), device=z.device)[present]
        generated = response_db(model.decode(centres, eye), self.freqs)  # (T', F)
        slot = torch.cumsum(present.long(), 0) - 1  # term index -> row of `generated`
        target = response_db(batch["params"], self.freqs)  # (B, F)
        diff = generated[slot[batch["term"]]] - target
        return diff.abs().mean().float() / DB_SCALE
