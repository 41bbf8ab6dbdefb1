"""Distributed set-up for ``torchrun`` (one or many nodes) with no code change, and a resumable sampler.

Run under ``torchrun --nproc_per_node N`` and the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR)
selects DDP: NCCL on CUDA, gloo on CPU. Run plainly and everything degrades to a single process.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: global rank, number of processes, local rank and its device."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Rank 0 logs, checkpoints and builds caches."""
        return self.rank == 0


def init_distributed(device: str = "auto") -> DistInfo:
    """Initialise the process group if launched by torchrun; pick the device (``auto``: CUDA if present)."""
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", device_id=dev if use_cuda else None)
    return DistInfo(rank, world, local, dev)


def cleanup() -> None:
    """Destroy the process group (if any) so the process exits cleanly."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def broadcast_object(obj, src: int = 0):
    """Send a picklable object from ``src`` to every rank (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        box = [obj]
        dist.broadcast_object_list(box, src=src)
        return box[0]
    return obj


def wrap_model(model: nn.Module, info: DistInfo) -> nn.Module:
    """DDP-wrap ``model`` when running on more than one process."""
    if info.world == 1:
        return model
    ids = [info.device.index] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (what is checkpointed)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


class ShardedSampler(torch.utils.data.Sampler[int]):
    """Deterministic shuffled indices for one rank: seeded by ``(seed, epoch)``, padded to split evenly,
    and able to start mid-epoch (``start_batch``) so a resumed run sees exactly the batches it missed."""

    def __init__(self, n: int, rank: int = 0, world: int = 1, shuffle: bool = True, seed: int = 0,
                 batch_size: int = 1, pad: bool = True):
        self.n, self.rank, self.world = n, rank, world
        self.shuffle, self.seed, self.batch_size, self.pad = shuffle, seed, batch_size, pad
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _indices(self) -> np.ndarray:
        idx = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle
               else np.arange(self.n))
        if self.pad and self.world > 1:
            per = -(-self.n // self.world)
            idx = np.resize(idx, per * self.world)
        return idx[self.rank::self.world]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.start_batch * self.batch_size:].tolist())

    def __len__(self) -> int:
        return max(0, len(self._indices()) - self.start_batch * self.batch_size)
