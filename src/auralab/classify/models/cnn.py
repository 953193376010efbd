"""``cnn``: the baseline, a VGG-like stack of (conv3x3-BN-ReLU) x 2 + 2x2 average-pool blocks."""

from torch import nn

from auralab.classify.models.base import MODELS, LogMelClassifier, pool_time_freq


def conv_bn(c_in: int, c_out: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """3x3 convolution, batch norm and ReLU; the unit all the classifiers here are made of."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


@MODELS.register("cnn")
class CNN(LogMelClassifier):
    """Baseline CNN.

    Args:
        channels: output channels of each block; every block halves frequency and time.
        **kwargs: frontend and head arguments of ``LogMelClassifier`` (labels, sr, ...).
    """

    def __init__(self, channels: list[int] = (16, 32, 64, 128), **kwargs):
        super().__init__(**kwargs)
        blocks, c_in = [], 1
        for c in channels:
            blocks += [conv_bn(c_in, c), conv_bn(c, c), nn.AvgPool2d(2)]
            c_in = c
        self.body = nn.Sequential(*blocks)
        self.set_embed_dim(c_in)

    def embed(self, x):
        return pool_time_freq(self.body(x))  # (B, 1, M, N) -> (B, C, M/16, N/16) -> (B, C)
