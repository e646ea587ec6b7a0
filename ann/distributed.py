"""Data-parallel training with torch's DistributedDataParallel (DDP), under `torchrun`.

Every process holds a full copy of the model and a 1/world_size shard of each epoch
(DistributedSampler); DDP averages the gradients across processes after each backward
pass, so all copies take the same optimiser step and stay identical (Li et al. 2020,
"PyTorch Distributed"). On GPUs each process drives one device with the NCCL backend; on
CPU the gloo backend runs the same code (that is how the tests run it).

    torchrun --nproc_per_node=4 -m ann.distributed --model cnn --epochs 30 --out cnn.pt

or from your own script started by torchrun:

    from ann import distributed
    distributed.init()                       # reads RANK, WORLD_SIZE, MASTER_ADDR, ... from torchrun
    history = distributed.fit_ddp(net, ds.train, epochs=30)
    distributed.finish()
"""
from __future__ import annotations

import argparse
import os
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from ann import data as ann_data
from ann import models
from ann.train import History, _as_split, _autocast, _check_data, _optimizer, _task, _train_epoch

__all__ = ["init", "finish", "fit_ddp", "main"]


def init(backend: str = "auto") -> None:
    """Join the process group torchrun describes in the environment.

    backend "auto": NCCL when CUDA is present, else gloo. Each process then uses
    cuda:LOCAL_RANK (or the CPU).
    """
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    missing = [v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise ValueError(f"environment variables {', '.join(missing)} are not set; start the "
                         f"script with torchrun (e.g. torchrun --nproc_per_node=2 script.py)")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend)


def finish() -> None:
    """Leave the process group (call once at the end of every process)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def _device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def fit_ddp(model, data, epochs: int = 30, batch_size: int = 32, lr: float = 5e-3,
            optimizer: str = "adam", weight_decay: float = 0.0, seed: int = 0,
            amp: bool = True, progress: bool = False) -> History:
    """Train `model` in place with DDP; call it in every process of an initialised group.

    data: the same Split (or Dataset, or (x, y) pair) in every process. batch_size is
    per process (the effective batch is batch_size * world_size). Rank 0's initial weights
    are broadcast to all ranks, so every process ends with identical weights. The History
    holds the loss and accuracy averaged over all processes; there is no validation split
    (evaluate on rank 0 afterwards). The lr is annealed with a cosine schedule as in fit.
    """
    if not dist.is_available() or not dist.is_initialized():
        raise ValueError("torch.distributed is not initialised; start the script with torchrun "
                         "and call ann.distributed.init() first (or use ann.train.fit)")
    task = _task(model, "auto")
    split = _as_split(data)
    _check_data(model, split, task)
    rank, world = dist.get_rank(), dist.get_world_size()
    dev = _device()
    torch.manual_seed(seed + rank)  # different dropout masks per process, like different batches
    model.to(dev)
    ddp = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    x, y = torch.from_numpy(split.x).to(dev), torch.from_numpy(split.y).to(dev)
    # DistributedSampler only needs len(); it pads so every rank gets the same number of
    # batches, which DDP's collective gradient averaging requires.
    sampler = DistributedSampler(range(len(split)), num_replicas=world, rank=rank,
                                 shuffle=True, seed=seed)
    opt = _optimizer(optimizer, [p for p in ddp.parameters() if p.requires_grad], lr, weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1))
    autocast, scaler = _autocast(dev, amp)
    history, start = History(), time.perf_counter()
    epoch_iter = range(epochs)
    if progress and rank == 0:
        from tqdm.auto import tqdm
        epoch_iter = tqdm(epoch_iter, desc=f"DDP x{world}", leave=False)
    for epoch in epoch_iter:
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler), dtype=torch.long, device=dev)
        tl, ta = _train_epoch(ddp, x, y, order, batch_size, opt, task, autocast, scaler)
        sched.step()
        mean = torch.tensor([tl, ta], dtype=torch.float64, device=dev)
        dist.all_reduce(mean)  # every rank saw the same number of samples, so a plain mean
        tl, ta = (mean / world).tolist()
        history.train_loss.append(tl)
        history.train_acc.append(ta)
    history.best_epoch = history.epochs - 1
    history.seconds = time.perf_counter() - start
    history.samples_per_s = history.epochs * len(sampler) * world / max(history.seconds, 1e-9)
    model.eval()
    return history


_CLI_MODELS = {
    "mlp": lambda: models.MLP(64, [256], 10),
    "cnn": lambda: models.CNN(),
    "lstm": lambda: models.RNN(cell="lstm"),
    "gru": lambda: models.RNN(cell="gru"),
    "attention": lambda: models.AttentionNet(),
}


def main(argv=None) -> None:
    """torchrun --nproc_per_node=N -m ann.distributed --model cnn --epochs 30 --out cnn.pt"""
    from ann.train import evaluate, save_checkpoint

    p = argparse.ArgumentParser(description="Train an ann model on the digits with DDP.")
    p.add_argument("--model", choices=sorted(_CLI_MODELS), default="mlp")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32, help="per process")
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="checkpoint path (written by rank 0)")
    args = p.parse_args(argv)
    init()
    try:
        ds = ann_data.digits(seed=args.seed)
        torch.manual_seed(args.seed)
        net = _CLI_MODELS[args.model]()
        h = fit_ddp(net, ds.train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    seed=args.seed, progress=True)
        if dist.get_rank() == 0:
            acc = evaluate(net, ds.test)
            print(f"{args.model}: {dist.get_world_size()} processes, final train loss "
                  f"{h.train_loss[-1]:.4f}, test accuracy {acc:.4f}, {h.samples_per_s:.0f} samples/s")
            if args.out:
                save_checkpoint(net, args.out)
    finally:
        finish()


if __name__ == "__main__":
    main()
