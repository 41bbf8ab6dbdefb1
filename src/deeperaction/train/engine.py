"""The one training loop of every task: bf16 autocast on CUDA, gradient clipping, warm-up + cosine, EMA,
checkpoints every epoch with exact resume, DDP under torchrun, JSONL logging and a data-wait meter.

A task hands over a :class:`Task` (model, datasets, how to move a batch to the device and augment it there,
loss, evaluation); :func:`fit` does the rest.
"""
from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from deeperaction.errors import InputError
from deeperaction.train.checkpoint import export_model, load_checkpoint, resolve_resume, save_checkpoint
from deeperaction.train.config import dump_config
from deeperaction.train.ddp import (DistInfo, ShardedSampler, all_reduce_sum, cleanup, init_distributed, unwrap,
                                    wrap_model)
from deeperaction.train.ema import ModelEMA
from deeperaction.train.logging import GpuIdleMeter, RunLogger, ThroughputMeter
from deeperaction.train.schedule import build_optimizer, build_scheduler


@dataclass
class Task:
    """What the loop needs from a task. ``prepare(batch, device, generator)`` moves a training batch to the
    device (non-blocking) and augments it there, returning ``(inputs, targets)``; ``eval_batch(model, batch,
    device)`` returns additive sums (e.g. ``correct``, ``count``) that ``summarize`` turns into metrics."""

    model: nn.Module
    train_set: Dataset
    prepare: Callable[[Any, torch.device, torch.Generator], tuple[Any, torch.Tensor]]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    val_set: Dataset | None = None
    eval_batch: Callable[[nn.Module, Any, torch.device], dict[str, float]] | None = None
    summarize: Callable[[dict[str, float]], dict[str, float]] = lambda sums: sums
    best_key: str = "accuracy"  # summary metric that selects best.pt (higher is better)
    collate: Callable | None = None
    eval_batch_size: int = 0  # 0 = the training batch size


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def step_seed(seed: int, step: int, rank: int) -> int:
    """The seed of one step on one rank: randomness depends on the step, so a resumed run repeats it."""
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1)[0])


def _loader(ds: Dataset, sampler, batch: int, cfg: dict, device: torch.device, collate, train: bool) -> DataLoader:
    """Training loaders keep their workers between epochs (no re-spawn and re-open of the data per epoch)."""
    workers = cfg["data"]["workers"]
    return DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers, collate_fn=collate,
                      pin_memory=device.type == "cuda", drop_last=train, persistent_workers=train and workers > 0,
                      prefetch_factor=cfg["data"]["prefetch"] if workers > 0 else None)


def channels_last_3d(model: nn.Module) -> nn.Module:
    """The 3-D convolutions of ``model`` in the channels_last_3d memory format (faster cuDNN kernels for
    video inputs in that format); 2-D and 1-D layers (skeleton, detector) keep theirs."""
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            m.to(memory_format=torch.channels_last_3d)
    return model


@torch.no_grad()
def evaluate(task: Task, model: nn.Module, cfg: dict, info: DistInfo) -> dict[str, float]:
    """Run ``task.eval_batch`` over this rank's share of the validation set; sums are added over ranks."""
    if task.val_set is None or task.eval_batch is None:
        return {}
    sampler = ShardedSampler(len(task.val_set), info.rank, info.world, shuffle=False, pad=False)
    loader = _loader(task.val_set, sampler, task.eval_batch_size or cfg["train"]["batch_size"], cfg,
                     info.device, task.collate, train=False)
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    with _autocast(cfg, info.device):
        for batch in loader:
            for k, v in task.eval_batch(model, batch, info.device).items():
                sums[k] = sums.get(k, 0.0) + float(v)
    model.train(was_training)
    keys = sorted(sums)
    total = all_reduce_sum(torch.tensor([sums[k] for k in keys], dtype=torch.float64, device=info.device))
    return task.summarize(dict(zip(keys, total.tolist())))


def _autocast(cfg: dict, device: torch.device):
    if device.type == "cuda" and cfg["train"]["amp"]:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fit(task: Task, cfg: dict, resume: str | None = None, info: DistInfo | None = None) -> dict[str, Any]:
    """Train ``task`` as ``cfg`` says; returns the last evaluation, throughput and where the run lives."""
    info = info or init_distributed()
    tc, oc = cfg["train"], cfg["optim"]
    out = Path(tc["out"])
    torch.use_deterministic_algorithms(tc["deterministic"], warn_only=True)
    torch.backends.cudnn.benchmark = info.device.type == "cuda" and not tc["deterministic"]  # fixed shapes
    model = task.model.to(info.device)
    cuda = info.device.type == "cuda"
    if cuda and cfg["model"].get("channels_last", False):
        model = channels_last_3d(model)
    sampler = ShardedSampler(len(task.train_set), info.rank, info.world, seed=tc["seed"],
                             batch_size=tc["batch_size"])
    loader = _loader(task.train_set, sampler, tc["batch_size"], cfg, info.device, task.collate, train=True)
    steps_per_epoch = len(sampler) // tc["batch_size"]
    if steps_per_epoch == 0:
        raise InputError(f"{len(task.train_set)} training samples over {info.world} ranks are fewer than one "
                         f"batch of {tc['batch_size']}", field="train.batch_size")
    total_steps = steps_per_epoch * tc["epochs"]
    opt = build_optimizer(model, oc["name"], oc["lr"], oc["momentum"], oc["weight_decay"], fused=cuda)
    sched = build_scheduler(opt, round(oc["warmup_epochs"] * steps_per_epoch), total_steps, oc["min_lr"])
    ema = ModelEMA(model, tc["ema"]) if tc["ema"] > 0 else None
    epoch, batch_in_epoch, step, best = 0, 0, 0, -float("inf")
    ckpt_path = resolve_resume(resume, out)
    if ckpt_path is not None:
        ck = load_checkpoint(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        if ema is not None and ck.get("ema"):
            ema.load_state_dict(ck["ema"])
        epoch, batch_in_epoch, step, best = ck["epoch"], ck["batch_in_epoch"], ck["step"], ck["best"]
    ddp_model = wrap_model(model, info)
    log = RunLogger(out, info.main, tc["progress"])
    if info.main:
        dump_config(cfg, out / "config.yaml")
        log.log("start", step, world=info.world, device=str(info.device), steps_per_epoch=steps_per_epoch,
                resumed_from=str(ckpt_path) if ckpt_path else None)

    def checkpoint(name: str = "last.pt") -> None:
        if info.main:
            save_checkpoint(out / name, model=unwrap(model).state_dict(), optimizer=opt.state_dict(),
                            scheduler=sched.state_dict(), ema=ema.state_dict() if ema else None, epoch=epoch,
                            batch_in_epoch=batch_in_epoch, step=step, best=best, config=cfg)

    meter, result, throughput = ThroughputMeter(), {}, {}
    idle = GpuIdleMeter() if cuda else None
    gen = torch.Generator(info.device)
    loss_sum, loss_n = torch.zeros((), device=info.device), 0
    stop = bool(tc["max_steps"]) and step >= tc["max_steps"]
    while epoch < tc["epochs"] and not stop:
        sampler.set_epoch(epoch, batch_in_epoch)
        if hasattr(task.train_set, "set_epoch"):
            task.train_set.set_epoch(epoch)  # per-sample randomness from (seed, epoch, index)
        log.start_epoch(epoch, steps_per_epoch - batch_in_epoch)
        ddp_model.train()
        meter.reset()  # throughput of this epoch, loader start-up included
        if idle is not None:
            idle.reset()
        it = iter(loader)
        while True:
            t0 = time.perf_counter()
            batch = next(it, None)
            if batch is None:
                break
            seed = step_seed(tc["seed"], step, info.rank)
            torch.manual_seed(seed)  # dropout etc.: a function of the step, identical after resume
            gen.manual_seed(seed)
            if idle is not None:
                idle.begin()
            x, y = task.prepare(batch, info.device, gen)
            meter.add(len(y), time.perf_counter() - t0)
            with _autocast(cfg, info.device):
                loss = task.loss(ddp_model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if oc["clip_grad"] > 0:
                nn.utils.clip_grad_norm_(model.parameters(), oc["clip_grad"])
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model)
            if idle is not None:
                idle.end()
            step, batch_in_epoch = step + 1, batch_in_epoch + 1
            loss_sum += loss.detach().float()
            loss_n += 1
            log.advance()
            if step % tc["log_every"] == 0:  # the only host sync of the loop
                log.log("step", step, epoch=epoch, loss=loss_sum.item() / loss_n, lr=sched.get_last_lr()[0],
                        **meter.summary(), **(idle.summary() if idle is not None else {}))
                loss_sum.zero_()
                loss_n = 0
            if tc["ckpt_every_steps"] and step % tc["ckpt_every_steps"] == 0:
                checkpoint()
            if tc["max_steps"] and step >= tc["max_steps"]:
                stop = True
                break
        if cuda:
            torch.cuda.synchronize()  # count the queued GPU work in this epoch's time
        throughput = {**meter.summary(), **(idle.summary() if idle is not None else {})}
        if not stop or batch_in_epoch >= steps_per_epoch:
            epoch, batch_in_epoch = epoch + 1, 0
        if stop or epoch % tc["eval_every"] == 0 or epoch == tc["epochs"]:
            result = evaluate(task, ema.module if ema else unwrap(model), cfg, info)
            if result and info.main:
                log.log("eval", step, epoch=epoch, **result)
            if result.get(task.best_key, -float("inf")) > best:
                best = result[task.best_key]
                checkpoint("best.pt")
        checkpoint()
        log.log("epoch", step, epoch=epoch, **throughput)
    log.close()
    return {"eval": result, "step": step, "epoch": epoch, "best": best, "out": str(out),
            "throughput": throughput, "model": unwrap(model), "ema": ema}


def fit_and_export(make_task: Callable[[DistInfo], tuple[Task, list[str]]], cfg: dict, resume: str | None,
                   kind: str, tune: Callable[[Path, dict], dict] | None = None) -> dict[str, Any]:
    """A whole model-making run, under torchrun or not: seed, ``make_task(info) -> (task, classes)``, fit,
    then rank 0 writes ``OUT/model.pt`` of ``kind`` from the best checkpoint, with the config ``tune(OUT,
    cfg)`` returns (e.g. a threshold chosen on the validation set); returns the fit result plus ``classes``
    and ``model_path``."""
    info = init_distributed()
    seed_everything(cfg["train"]["seed"])
    try:
        task, classes = make_task(info)
        result = fit(task, cfg, resume, info)
    finally:
        cleanup()
    out = Path(cfg["train"]["out"])
    if info.main:
        export_model(out, kind, tune(out, cfg) if tune else cfg, classes)
    result.update(classes=classes, model_path=str(out / "model.pt"))
    return result
