"""``resnet``: a small ResNet (basic blocks of two 3x3 convolutions with identity shortcuts)."""

import torch
from torch import nn

from auralab.classify.models.base import MODELS, LogMelClassifier, pool_time_freq
from auralab.classify.models.cnn import conv_bn


class BasicBlock(nn.Module):
    """``relu(x + conv(conv(x)))``; a strided block downsamples its shortcut with a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = conv_bn(c_in, c_out, stride)
        self.conv2 = nn.Sequential(
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.shortcut(x) + self.conv2(self.conv1(x)))


@MODELS.register("resnet")
class ResNet(LogMelClassifier):
    """ResNet-style classifier.

    Args:
        stem: channels of the stem convolution (full resolution).
        channels: channels of each stage; every stage after the first halves both axes.
        blocks: basic blocks per stage.
        **kwargs: frontend and head arguments of ``LogMelClassifier``.
    """

    def __init__(
        self,
        stem: int = 16,
        channels: list[int] = (32, 64, 128),
        blocks: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        layers: list[nn.Module] = [conv_bn(1, stem), nn.AvgPool2d(2)]
        c_in = stem
        for i, c in enumerate(channels):
            for j in range(blocks):
                layers.append(BasicBlock(c_in, c, stride=2 if (i > 0 and j == 0) else 1))
                c_in = c
        self.body = nn.Sequential(*layers)
        self.set_embed_dim(c_in)

    def embed(self, x):
        return pool_time_freq(self.body(x))
