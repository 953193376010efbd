"""The shape every semantic-EQ model shares: setting -> latent -> (latent, term) -> setting.

An encoder maps a normalised setting ``(B, 13)`` to a latent ``(B, D)``; a decoder maps the
latent and a term embedding back to a setting through a sigmoid, so every output lies in
[0, 1] and, denormalised, is a valid equaliser setting whatever the latent or term weights.
A variant overrides :meth:`EqModel.encode` and nothing else.

Terms are given as weights over the vocabulary ``(B, n_terms)``: one-hot for one term, a
convex mix to interpolate between terms. Generation decodes each term's latent centre, fitted
on the training settings (:meth:`EqModel.fit_term_stats`) and stored in the state dict.
"""

import difflib

import torch
from torch import nn

from auralab.eq.normalise import N_PARAMS
from auralab.errors import ConfigError
from auralab.registry import Registry

MODELS = Registry("eq model")


def _mlp(n_in: int, hidden: int, layers: int, n_out: int) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.Linear(n_in if i == 0 else hidden, hidden), nn.SiLU()]
    return nn.Sequential(*blocks, nn.Linear(hidden if layers else n_in, n_out))


class EqModel(nn.Module):
    """Base class of the semantic-EQ models.

    Args:
        terms: the vocabulary, in term-index order.
        latent_dim: size D of the latent.
        hidden: width of the encoder and decoder MLPs.
        layers: hidden layers of each MLP.
        term_dim: size of the learned term embedding the decoder is conditioned on.
    """

    def __init__(
        self,
        terms: list[str],
        latent_dim: int = 4,
        hidden: int = 64,
        layers: int = 2,
        term_dim: int = 8,
    ):
        super().__init__()
        if not terms:
            raise ConfigError("an EQ model needs at least one term; check data.min_count")
        self._config = {
            "terms": list(terms),
            "latent_dim": latent_dim,
            "hidden": hidden,
            "layers": layers,
            "term_dim": term_dim,
        }
        self.terms = list(terms)
        self.latent_dim = latent_dim
        self.encoder = _mlp(N_PARAMS, hidden, layers, self.encoder_outputs(latent_dim))
        self.term_embedding = nn.Parameter(0.1 * torch.randn(len(terms), term_dim))
        self.decoder = _mlp(latent_dim + term_dim, hidden, layers, N_PARAMS)
        # Term latent centres and spreads, fitted after (and during) training; steps counts
        # training steps so loss schedules resume exactly from a checkpoint.
        self.register_buffer("term_mean", torch.zeros(len(terms), latent_dim))
        self.register_buffer("term_std", torch.ones(len(terms), latent_dim))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def encoder_outputs(self, latent_dim: int) -> int:
        """Width of the encoder's last layer (a VAE needs mean and log-variance)."""
        return latent_dim

    def encode(self, unit: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, 13)`` normalised settings -> ``{"z": (B, D), ...}`` (variants add keys)."""
        return {"z": self.encoder(2 * unit - 1)}

    def latent(self, unit: torch.Tensor) -> torch.Tensor:
        """The deterministic latent ``(B, D)`` of settings (the mean for a VAE)."""
        out = self.encode(unit)
        return out.get("mu", out["z"])

    def decode(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Latent ``(B, D)`` and term weights ``(B, n_terms)`` -> settings ``(B, 13)`` in [0, 1]."""
        cond = weights.to(self.term_embedding) @ self.term_embedding  # (B, term_dim)
        return torch.sigmoid(self.decoder(torch.cat([z, cond], -1)))

    def forward(self, unit: torch.Tensor, term: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruct settings ``(B, 13)`` of terms ``(B,)``; returns ``recon`` plus latents."""
        out = self.encode(unit)
        out["recon"] = self.decode(out["z"], self.one_hot(term))
        return out

    # ---- terms --------------------------------------------------------------------------
    def one_hot(self, term: torch.Tensor) -> torch.Tensor:
        """Term indices ``(B,)`` -> weights ``(B, n_terms)``."""
        return nn.functional.one_hot(term, len(self.terms)).float()

    def term_index(self, name: str) -> int:
        """Index of a term; an unknown term is an error listing the closest known ones."""
        key = " ".join(name.split()).lower()
        if key in self.terms:
            return self.terms.index(key)
        close = difflib.get_close_matches(key, self.terms, n=5, cutoff=0.5)
        hint = f"close matches: {', '.join(close)}" if close else f"known: {', '.join(self.terms)}"
        raise ConfigError(f"unknown EQ term {name!r}; {hint} (see `auralab eq terms`)")

    def mix(self, a: str, b: str, t: torch.Tensor) -> torch.Tensor:
        """Weights ``(S, n_terms)`` moving from term ``a`` (t=0) to ``b`` (t=1) along ``t (S,)``."""
        eye = torch.eye(len(self.terms))
        t = t.float()[:, None]
        return (1 - t) * eye[self.term_index(a)] + t * eye[self.term_index(b)]

    # ---- generation ---------------------------------------------------------------------
    def generate(self, weights: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Settings ``(B, 13)`` in [0, 1] for term weights ``(B, n_terms)``.

        ``z`` defaults to the weighted mix of the terms' latent centres.
        """
        weights = weights.to(self.term_mean)
        return self.decode(weights @ self.term_mean if z is None else z, weights)

    def sample(self, term: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` settings ``(n, 13)`` of one term: latents drawn around the term's centre."""
        noise = torch.randn(n, self.latent_dim, generator=generator).to(self.term_mean)
        z = self.term_mean[term] + noise * self.term_std[term]
        weights = self.one_hot(torch.full((n,), term, dtype=torch.long)).to(z)
        return self.decode(z, weights)

    @torch.no_grad()
    def fit_term_stats(self, unit: torch.Tensor, term: torch.Tensor) -> None:
        """Store each term's latent mean and std over settings ``(N, 13)`` of terms ``(N,)``."""
        was_training = self.training
        self.eval()
        z = self.latent(unit)  # (N, D)
        for t in range(len(self.terms)):
            zt = z[term == t]
            if len(zt):
                self.term_mean[t] = zt.mean(0)
                self.term_std[t] = zt.std(0, unbiased=False) if len(zt) > 1 else 0.0
        self.train(was_training)

    def config(self) -> dict:
        """The constructor arguments, as plain types: with the registry name, rebuilds the model."""
        return dict(self._config)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_model(name: str, **kwargs) -> EqModel:
    """Build a registered EQ model by name, e.g. ``build_model("semantic_ae", terms=[...])``."""
    return MODELS.build(name, **kwargs)
