"""``mobilenet``: inverted residuals (MobileNetV2 / EfficientNet style) with squeeze-excitation.

Each block expands channels with a 1x1 convolution, filters each channel with a depthwise 3x3,
re-weights channels from their global average (squeeze-excitation), then projects back with a
1x1 convolution: few multiply-adds per output, which suits CPUs and small devices.
"""

import torch
from torch import nn

from auralab.classify.models.base import MODELS, LogMelClassifier, pool_time_freq
from auralab.classify.models.cnn import conv_bn


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(x.mean(dim=(2, 3), keepdim=True)))


class InvertedResidual(nn.Module):
    """1x1 expand -> depthwise 3x3 (stride) -> SE -> 1x1 project, residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        self.block = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            conv_bn(hidden, hidden, stride, groups=hidden),
            SqueezeExcite(hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


@MODELS.register("mobilenet")
class MobileNet(LogMelClassifier):
    """MobileNet/EfficientNet-style classifier.

    Args:
        stem: channels of the strided stem convolution.
        channels: output channels of each stage; each stage starts with a stride-2 block.
        blocks: inverted-residual blocks per stage.
        expand: expansion factor of the inverted residuals.
        **kwargs: frontend and head arguments of ``LogMelClassifier``.
    """

    def __init__(
        self,
        stem: int = 16,
        channels: list[int] = (24, 48, 96, 128),
        blocks: int = 2,
        expand: int = 4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        layers: list[nn.Module] = [conv_bn(1, stem)]
        c_in = stem
        for c in channels:
            for j in range(blocks):
                layers.append(InvertedResidual(c_in, c, 2 if j == 0 else 1, expand))
                c_in = c
        self.body = nn.Sequential(*layers)
        self.set_embed_dim(c_in)

    def embed(self, x):
        return pool_time_freq(self.body(x))
