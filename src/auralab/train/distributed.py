"""DDP plumbing: ``torchrun`` sets RANK/WORLD_SIZE; without it everything is a no-op."""

import os

import torch
import torch.distributed as torch_dist

from auralab.errors import ConfigError


def setup() -> tuple[int, int]:
    """Join the process group if launched by torchrun; returns ``(rank, world_size)``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    if not torch_dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch_dist.init_process_group(backend)
    return torch_dist.get_rank(), torch_dist.get_world_size()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"config key trainer.device={name!r} but no CUDA device is visible; use cpu"
        )
    return torch.device(name)


def wrap(model: torch.nn.Module, device: torch.device, world: int) -> torch.nn.Module:
    if world == 1:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier() -> None:
    if torch_dist.is_initialized():
        torch_dist.barrier()


def broadcast_flag(flag: bool, device: torch.device) -> bool:
    """Rank 0 decides (e.g. early stop); every rank gets the same answer."""
    if not torch_dist.is_initialized():
        return flag
    t = torch.tensor([int(flag)], device=device if device.type == "cuda" else "cpu")
    torch_dist.broadcast(t, src=0)
    return bool(t.item())
