"""auralab's semantic-EQ model: a term-conditioned autoencoder with a structured latent.

The architecture is the base class unchanged (deterministic encoder, term-conditioned decoder);
what makes it semantic is its training (``auralab.eq.models.losses``): a supervised contrastive
loss, annealed in, pulls settings of one term together in the latent, and a term-response loss
trains the setting decoded at each term's latent centre to match that term's human responses.
"""

from auralab.eq.models.base import MODELS, EqModel


@MODELS.register("semantic_ae")
class SemanticAutoencoder(EqModel):
    """Conditional autoencoder; see :class:`auralab.eq.models.base.EqModel` for arguments."""
