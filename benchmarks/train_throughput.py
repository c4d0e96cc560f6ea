"""Training throughput of a nasbench trial (Lightning) vs a bare PyTorch loop, and trial start-up.

Both sides train the same ~60K-parameter CNN (built by ``build_network``) on the same in-memory
Fashion-MNIST tensors, with the same batch size, epochs, optimizer, schedule and per-epoch
validation, on the same number of threads. Runs alternate (Lightning, bare, Lightning, ...) so
a machine shared with other work slows both sides alike; medians are reported.

* images/s: training images per second from the first training batch to the end of the last
  epoch (validation included, as a trial does it).
* start-up: from the start of a trial (model built, data module set up, trainer made) to its
  first training batch, measured in the already-warm process, i.e. excluding imports.

Run:  python benchmarks/train_throughput.py [--epochs 2] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import Split, make_split
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage
from nasbench.train.optim import make_optimizer
from nasbench.train.recipe import Recipe
from nasbench.train.run import train_network

ARCH = Architecture(
    stages=(Stage("plain", 1, 24, downsample="stride"), Stage("plain", 2, 48, downsample="stride"),
            Stage("plain", 1, 64, downsample="stride")),
    stem_width=16,
)


@dataclass
class Run:
    """One timed trial."""

    startup_s: float
    train_s: float
    images: int
    val_acc: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.train_s


class FirstBatchClock:
    """Records when the model first sees a training batch (a forward pre-hook, so neither side
    needs instrumenting code)."""

    def __init__(self, model: nn.Module) -> None:
        self.t: float | None = None
        self.handle = model.register_forward_pre_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple) -> None:
        if module.training and self.t is None:
            self.t = time.perf_counter()
            self.handle.remove()


def new_model(ds: ArrayDataset, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build_network(ARCH, ds.in_channels, ds.num_classes, ds.ndim)


def lightning_trial(ds: ArrayDataset, split: Split, recipe: Recipe, epochs: int, seed: int) -> Run:
    """The search worker's sequence: seed, build, data module, train_network."""
    t0 = time.perf_counter()
    model = new_model(ds, seed)
    clock = FirstBatchClock(model)
    dm = TensorDataModule(ds, split, batch_size=recipe.batch_size, seed=seed)
    result = train_network(model, dm, recipe, epochs, seed=seed, device="cpu")
    t_end = time.perf_counter()
    assert clock.t is not None
    steps = len(dm.train_dataloader())
    return Run(clock.t - t0, t_end - clock.t, epochs * steps * recipe.batch_size, result.val_acc)


def bare_trial(ds: ArrayDataset, split: Split, recipe: Recipe, epochs: int, seed: int) -> Run:
    """A hand-written loop over the same tensors: the speed a trial could reach without Lightning."""
    t0 = time.perf_counter()
    model = new_model(ds, seed)
    clock = FirstBatchClock(model)
    dm = TensorDataModule(ds, split, batch_size=recipe.batch_size, seed=seed)
    dm.setup("fit")
    x, y = dm.tensors["train"]
    xv, yv = dm.tensors["val"]
    steps = len(y) // recipe.batch_size
    opt, sched = make_optimizer(model, recipe, epochs, steps)
    gen = torch.Generator().manual_seed(seed)
    val_acc = 0.0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y), generator=gen)
        loss_sum = torch.zeros(())
        for i in range(steps):
            idx = order[i * recipe.batch_size : (i + 1) * recipe.batch_size]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(yb)
        val_acc = validate(model, xv, yv, dm.eval_batch_size)
        float(loss_sum)  # the epoch's train loss, read once as a trial does
    t_end = time.perf_counter()
    assert clock.t is not None
    return Run(clock.t - t0, t_end - clock.t, epochs * steps * recipe.batch_size, val_acc)


def validate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    model.eval()
    correct = torch.zeros((), dtype=torch.long)
    loss = torch.zeros(())
    with torch.inference_mode():
        for i in range(0, len(y), batch_size):
            logits = model(x[i : i + batch_size])
            loss += F.cross_entropy(logits, y[i : i + batch_size], reduction="sum")
            correct += (logits.argmax(1) == y[i : i + batch_size]).sum()
    float(loss)
    return int(correct) / len(y)


def median(runs: list[Run], key: Callable[[Run], float]) -> float:
    return statistics.median(key(r) for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per side (after one warm-up each)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--train-fraction", type=float, default=1.0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    ds = load_dataset("fashion_mnist")
    split = make_split(ds, val_size=0.1, seed=0)
    if args.train_fraction < 1:
        split = Split(split.train_subset(args.train_fraction), split.val, split.test, split.test_is_official,
                      split.seed)
    recipe = Recipe(batch_size=args.batch_size)
    params = sum(p.numel() for p in new_model(ds, 0).parameters())
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; python {platform.python_version()}")
    print(f"model: {ARCH.summary()}  params={params:,}")
    print(f"data: fashion_mnist train={len(split.train)} val={len(split.val)}, batch={args.batch_size}, "
          f"epochs={args.epochs}")

    sides = {"lightning": lightning_trial, "bare": bare_trial}
    for fn in sides.values():  # warm-up: first-call costs (allocator, kernels, lazy imports)
        fn(ds, split, recipe, 1, 0)
    runs: dict[str, list[Run]] = {name: [] for name in sides}
    for rep in range(args.repeats):
        for name, fn in sides.items():
            r = fn(ds, split, recipe, args.epochs, 0)
            runs[name].append(r)
            print(f"  {rep + 1} {name:9s} images/s={r.images_per_s:8.0f}  startup={r.startup_s:.3f}s  "
                  f"train={r.train_s:.2f}s  val_acc={r.val_acc:.4f}", flush=True)

    ips = {n: median(rs, lambda r: r.images_per_s) for n, rs in runs.items()}
    start = {n: median(rs, lambda r: r.startup_s) for n, rs in runs.items()}
    ratios = [a.images_per_s / b.images_per_s for a, b in zip(runs["lightning"], runs["bare"])]
    print(f"median images/s: lightning {ips['lightning']:.0f}, bare {ips['bare']:.0f}; "
          f"ratio {ips['lightning'] / ips['bare']:.3f} (per pair: {', '.join(f'{q:.3f}' for q in ratios)})")
    print(f"median start-up to first batch: lightning {start['lightning']:.3f}s, bare {start['bare']:.3f}s")


if __name__ == "__main__":
    main()
