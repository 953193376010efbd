"""The FlowEQ-style baseline: a conditional beta-VAE over normalised settings.

After Steinmetz (2020), flowEQ: a small latent (2-D by default) regularised towards a unit
Gaussian with weight beta, the decoder conditioned on the descriptor, trained on the parameter
reconstruction alone (the recipe sets ``loss.kl`` and no response terms). It uses auralab's
fixed physical normalisation, so the comparison measures the models, not the scaling.
"""

import torch

from auralab.eq.models.base import MODELS, EqModel


@MODELS.register("beta_vae")
class BetaVAE(EqModel):
    """beta-VAE: the encoder gives a Gaussian posterior; training samples it, eval uses its mean.

    Arguments as :class:`auralab.eq.models.base.EqModel` (``latent_dim`` defaults to 2 here).
    """

    def __init__(self, terms, latent_dim=2, hidden=64, layers=2, term_dim=8):
        super().__init__(terms, latent_dim, hidden, layers, term_dim)

    def encoder_outputs(self, latent_dim: int) -> int:
        return 2 * latent_dim

    def encode(self, unit: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, logvar = self.encoder(2 * unit - 1).chunk(2, -1)  # (B, D) each
        logvar = logvar.clamp(-10, 10)  # keeps exp() finite early in training
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return {"z": z, "mu": mu, "logvar": logvar}
