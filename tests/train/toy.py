"""A tiny regression task for testing the trainer without audio."""

from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset

from auralab.train import TrainerConfig


class NoisyLine(Dataset):
    """y = 3x - 1 + noise; items depend on (seed, epoch, index) like the real datasets."""

    def __init__(self, n=64, seed=0):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(hash((self.seed, self.epoch, i)) % 2**31)
        x = torch.randn(4, generator=g)
        return {"x": x, "y": 3 * x - 1 + 0.1 * torch.randn(4, generator=g), "index": i}


class ToyModel(torch.nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(1, hidden), torch.nn.Dropout(0.1), torch.nn.Linear(hidden, 1)
        )

    def forward(self, x):
        return self.net(x[..., None])[..., 0]

    def config(self):
        return {"hidden": 8}


@dataclass
class ToyConfig:
    task: str = "toy"
    name: str = "toy"
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            max_steps=12,
            batch_size=8,
            lr=0.05,
            val_every=4,
            log_every=2,
            warmup_steps=2,
            tensorboard=False,
        )
    )


class ToyTask:
    seen: list  # indices of training items, in order (to check DDP sharding)

    def __init__(self, config, crash_after: int | None = None):
        self.config = config
        self.seen = []
        self.crash_after = crash_after  # steps; simulates a run killed mid-training

    def build_data(self):
        return NoisyLine(64), NoisyLine(16, seed=1)

    def build_model(self):
        torch.manual_seed(0)
        return ToyModel()

    def model_spec(self):
        return {"name": "toy", "config": {"hidden": 8}}

    def training_loss(self, model, batch):
        if self.crash_after is not None and len(self.seen) >= self.crash_after * len(batch["x"]):
            raise KeyboardInterrupt("killed")
        self.seen.extend(batch["index"].tolist())
        loss = (model(batch["x"]) - batch["y"]).square().mean()
        return loss, {"mse": float(loss.detach())}

    def validate(self, model, data):
        device = next(model.parameters()).device
        errs = [
            float((model(data[i]["x"].to(device)) - data[i]["y"].to(device)).square().mean())
            for i in range(len(data))
        ]
        return {"loss": sum(errs) / len(errs)}

    def log_examples(self, model, data, writer, step):
        pass
