"""The training loop shared by every task.

A task object supplies data, model, loss and validation (see ``Task``); the trainer owns the
rest: AdamW, warm-up then cosine or reduce-on-plateau, gradient clipping, EMA, early stopping,
atomic checkpoints with exact resume, metrics.jsonl and curves, TensorBoard, and DDP through
``torchrun`` (rank 0 alone writes).
"""

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from auralab.config import dump_config, to_dict
from auralab.errors import ConfigError
from auralab.train import distributed as dist
from auralab.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from auralab.train.runs import MetricsLog, plot_curves


@dataclass
class TrainerConfig:
    """Optimisation and bookkeeping settings (the ``[trainer]`` section of a recipe)."""

    max_steps: int = 20000
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 500
    scheduler: Literal["cosine", "plateau", "constant"] = "cosine"
    min_lr_ratio: float = 0.05  # cosine floor, as a fraction of lr
    plateau_factor: float = 0.5
    plateau_patience: int = 3  # validations without improvement before the lr is cut
    grad_clip: float = 5.0
    val_every: int = 500
    log_every: int = 50
    early_stop_metric: str = "loss"
    early_stop_mode: Literal["max", "min"] = "min"
    early_stop_patience: int = 0  # validations without improvement; 0 = never stop early
    ema_decay: float = 0.0  # 0 disables; validation and best.pt then use the EMA weights
    seed: int = 0
    deterministic: bool = False
    amp: bool = False  # bf16 autocast, CUDA only
    compile: bool = False  # torch.compile, CUDA only
    num_workers: int = 0
    device: str = "auto"
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    tensorboard: bool = True

    def __post_init__(self):
        for key in ("max_steps", "batch_size", "val_every", "log_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"config key trainer.{key}={getattr(self, key)} must be >= 1")
        if self.lr <= 0:
            raise ConfigError(f"config key trainer.lr={self.lr} must be > 0")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"config key trainer.ema_decay={self.ema_decay} must be in [0, 1)")


class Task(Protocol):
    """What a task gives the trainer; the trainer never branches on which task it runs."""

    def build_data(self) -> tuple[Dataset, Dataset | None]: ...
    def build_model(self) -> torch.nn.Module: ...
    def model_spec(self) -> dict: ...  # {"name": registry name, "config": constructor args}
    def training_loss(self, model, batch) -> tuple[torch.Tensor, dict[str, float]]: ...
    def validate(self, model, data) -> dict[str, float]: ...
    def log_examples(self, model, data, writer, step: int) -> None: ...


class EpochSampler(torch.utils.data.Sampler):
    """A permutation per (seed, epoch), sharded over ranks, that can start mid-epoch.

    Starting at ``skip`` batches into an epoch is what makes a resumed run see exactly the
    batches an uninterrupted run would have seen.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch, self.skip = 0, 0

    def batches_per_epoch(self) -> int:
        return max(1, (self.n // self.world) // self.batch_size)

    def __iter__(self):
        order = np.random.default_rng((self.seed, self.epoch)).permutation(self.n)
        mine = order[self.rank :: self.world][: self.batches_per_epoch() * self.batch_size]
        return iter(mine[self.skip * self.batch_size :].tolist())

    def __len__(self):
        return (self.batches_per_epoch() - self.skip) * self.batch_size


class Trainer:
    """Train ``task`` into ``run_dir``; ``resume=True`` continues from ``run_dir/last.pt``."""

    def __init__(self, task: Task, config, run_dir: str | Path, resume: bool = False):
        self.task, self.config, self.cfg = task, config, config.trainer
        self.run_dir = Path(run_dir)
        if not resume:  # before the data is loaded: a clash should not cost a minute
            self._refuse_existing_run()
        self.rank, self.world = dist.setup()
        self.device = dist.pick_device(self.cfg.device)
        if self.cfg.threads:
            torch.set_num_threads(self.cfg.threads)
        _seed_everything(self.cfg.seed + self.rank, self.cfg.deterministic)
        self.train_data, self.val_data = task.build_data()
        self.model = task.build_model().to(self.device)
        self.ema = _ema_copy(self.model) if self.cfg.ema_decay else None
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay
        )
        self.state = {
            "step": 0,
            "epoch": 0,
            "batch_in_epoch": 0,
            "best": None,
            "best_step": -1,
            "bad_validations": 0,
            "plateau_scale": 1.0,
            "plateau_bad": 0,
        }
        self.log = MetricsLog(self.run_dir / "metrics.jsonl")
        if resume:
            self._resume()
        elif self.rank == 0:
            self._start_run_dir()
        self.train_model = dist.wrap(self.model, self.device, self.world)
        if self.cfg.compile and self.device.type == "cuda":
            self.train_model = torch.compile(self.train_model)
        self.writer = self._tensorboard()

    # ---- the loop -------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train until ``max_steps`` or early stop; returns the final state summary."""
        per_step = self.cfg.batch_size * self.world
        if len(self.train_data) < per_step:
            raise ConfigError(
                f"the training set has {len(self.train_data)} items, fewer than one batch "
                f"({per_step}); lower trainer.batch_size or add data"
            )
        sampler = EpochSampler(
            len(self.train_data), self.cfg.batch_size, self.cfg.seed, self.rank, self.world
        )
        bar = tqdm(
            total=self.cfg.max_steps,
            initial=self.state["step"],
            desc="train",
            disable=self.rank != 0,
            unit="step",
        )
        stop, t0, logged = False, time.time(), self.state["step"]
        while self.state["step"] < self.cfg.max_steps and not stop:
            for batch in self._epoch_batches(sampler):
                logs = self._train_step(batch)
                step = self.state["step"]
                bar.update()
                # The last step is logged too, so a short run still has a training curve.
                last = step == self.cfg.max_steps
                if (step % self.cfg.log_every == 0 or last) and self.rank == 0:
                    self._log(
                        {
                            "step": step,
                            "epoch": self.state["epoch"],
                            **logs,
                            "sec_per_step": (time.time() - t0) / max(1, step - logged),
                        }
                    )
                    bar.set_postfix(loss=f"{logs['train/loss']:.4f}")
                    t0, logged = time.time(), step
                if step % self.cfg.val_every == 0 or step == self.cfg.max_steps:
                    stop = self._validate_and_checkpoint()
                if stop or step >= self.cfg.max_steps:
                    break
        bar.close()
        dist.barrier()
        return dict(self.state)

    def _epoch_batches(self, sampler: EpochSampler):
        sampler.epoch, sampler.skip = self.state["epoch"], self.state["batch_in_epoch"]
        if hasattr(self.train_data, "set_epoch"):
            self.train_data.set_epoch(self.state["epoch"])
        loader = DataLoader(
            self.train_data,
            batch_size=self.cfg.batch_size,
            sampler=sampler,
            num_workers=self.cfg.num_workers,
            drop_last=True,
        )
        per_epoch = sampler.batches_per_epoch()
        for batch in loader:
            # Count the batch before handing it out: a checkpoint taken after this step must
            # point at the next batch, even if the loop stops here.
            self.state["batch_in_epoch"] += 1
            last = self.state["batch_in_epoch"] >= per_epoch
            if last:
                self.state["epoch"] += 1
                self.state["batch_in_epoch"] = 0
            yield _to_device(batch, self.device)
            if last:
                return

    def _train_step(self, batch) -> dict:
        self.train_model.train()
        lr = self._lr(self.state["step"])
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(
            self.device.type, torch.bfloat16, enabled=self.cfg.amp and self.device.type == "cuda"
        ):
            loss, terms = self.task.training_loss(self.train_model, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss is {float(loss)} at step {self.state['step']}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        if self.ema is not None:
            _ema_update(self.ema, self.model, self.cfg.ema_decay)
        self.state["step"] += 1
        return {
            "train/loss": float(loss.detach()),
            "lr": lr,
            "grad_norm": float(grad_norm),
            **{f"train/{k}": v for k, v in terms.items()},
        }

    def _lr(self, step: int) -> float:
        cfg = self.cfg
        warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
        if cfg.scheduler == "cosine":
            progress = min(
                1.0, max(0, step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
            )
            shape = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (
                1 + math.cos(math.pi * progress)
            )
        elif cfg.scheduler == "plateau":
            shape = self.state["plateau_scale"]
        else:
            shape = 1.0
        return cfg.lr * warm * shape

    # ---- validation, early stopping, checkpoints -----------------------------------------
    def _validate_and_checkpoint(self) -> bool:
        stop = False
        if self.rank == 0:
            metrics = self._validate()
            improved = self._track_best(metrics)
            self._save("last.pt")
            if improved:
                self._save("best.pt")
            patience = self.cfg.early_stop_patience
            stop = bool(patience and self.state["bad_validations"] >= patience)
            if stop:
                print(
                    f"early stop at step {self.state['step']}: no better "
                    f"{self.cfg.early_stop_metric} for {patience} validations"
                )
        return dist.broadcast_flag(stop, self.device)

    def _validate(self) -> dict:
        model = self.ema if self.ema is not None else self.model
        model.eval()
        with torch.no_grad():
            metrics = self.task.validate(model, self.val_data) if self.val_data is not None else {}
            if self.writer is not None and self.val_data is not None:
                self.task.log_examples(model, self.val_data, self.writer, self.state["step"])
        self._log({"step": self.state["step"], **{f"val/{k}": v for k, v in metrics.items()}})
        plot_curves(self.log.read(), self.run_dir / "training_curves.png")
        return metrics

    def _track_best(self, metrics: dict) -> bool:
        key = self.cfg.early_stop_metric
        value = metrics.get(key)
        if value is None or not math.isfinite(value):
            if self.val_data is not None:
                raise ConfigError(
                    f"config key trainer.early_stop_metric={key!r} is not among "
                    f"the validation metrics: {', '.join(metrics)}"
                )
            return False
        best = self.state["best"]
        better = best is None or (
            value > best if self.cfg.early_stop_mode == "max" else value < best
        )
        if better:
            self.state.update(
                best=float(value), best_step=self.state["step"], bad_validations=0, plateau_bad=0
            )
            return True
        self.state["bad_validations"] += 1
        self.state["plateau_bad"] += 1
        if (
            self.cfg.scheduler == "plateau"
            and self.state["plateau_bad"] >= self.cfg.plateau_patience
        ):
            self.state["plateau_scale"] *= self.cfg.plateau_factor
            self.state["plateau_bad"] = 0
        return False

    def _save(self, name: str) -> None:
        spec = self.task.model_spec()
        save_checkpoint(
            self.run_dir / name,
            {
                "task": type(self.task).__name__,
                "model_name": spec["name"],
                "model_config": spec["config"],
                "config": to_dict(self.config),
                "model": _cpu_state(self.model),
                "ema": _cpu_state(self.ema) if self.ema is not None else None,
                "optimizer": _to_cpu(self.optimizer.state_dict()),
                "trainer_state": dict(self.state),
                "rng": rng_state(),
            },
        )

    def _resume(self) -> None:
        # On the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest to the
        # parameters' device.
        ckpt = load_checkpoint(self.run_dir / "last.pt", map_location="cpu")
        self.model.load_state_dict(ckpt["model"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.state.update(ckpt["trainer_state"])
        set_rng_state(ckpt["rng"])
        if self.rank == 0:
            self.log.truncate_after(self.state["step"])
            print(
                f"resumed {self.run_dir} at step {self.state['step']} (epoch {self.state['epoch']})"
            )

    def _refuse_existing_run(self) -> None:
        if (self.run_dir / "last.pt").exists():
            raise ConfigError(
                f"{self.run_dir} already holds a run; use --resume to continue it "
                "or choose another --run-dir"
            )

    def _start_run_dir(self) -> None:
        self._refuse_existing_run()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        dump_config(self.config, self.run_dir / "config.toml")
        self.log.path.unlink(missing_ok=True)

    def _log(self, record: dict) -> None:
        self.log.append(record)
        if self.writer is not None:
            for k, v in record.items():
                if k != "step" and isinstance(v, int | float) and math.isfinite(v):
                    self.writer.add_scalar(k, v, record["step"])

    def _tensorboard(self):
        if self.rank != 0 or not self.cfg.tensorboard:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            print(
                "note: TensorBoard is not installed (pip install tensorboard); "
                "logging to metrics.jsonl only"
            )
            return None
        return SummaryWriter(str(self.run_dir / "tensorboard"))


def _seed_everything(seed: int, deterministic: bool) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def _to_cpu(x):
    """Tensors anywhere in nested dicts/lists moved to the CPU (checkpoints load anywhere)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if isinstance(x, dict):
        return {k: _to_cpu(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return type(x)(_to_cpu(v) for v in x)
    return x


def _to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _cpu_state(model) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _ema_copy(model):
    import copy

    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def _ema_update(ema, model, decay: float) -> None:
    for e, p in zip(ema.state_dict().values(), model.state_dict().values(), strict=True):
        if e.dtype.is_floating_point:
            e.lerp_(p, 1 - decay)
        else:
            e.copy_(p)
