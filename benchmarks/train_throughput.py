"""Training throughput of a nasbench trial (Lightning) vs a bare PyTorch loop, and trial start-up.

Both sides train the same ~60K-parameter CNN (built by ``build_network``) on the same in-memory
Fashion-MNIST tensors, with the same batch size, epochs, optimizer, schedule and per-epoch
validation, on the same number of threads. Runs alternate (Lightning, bare, Lightning, ...) so
a machine shared with other work slows both sides alike; medians are reported.

* images/s: training images per second of wall time from the first training batch to the end
  of the last epoch (validation included, as a trial does it): medians, the median of the
  per-pair ratios, and the best run of each side (the least disturbed by other work). Also per
  CPU-second of the process over the same span, which other load disturbs less.
* start-up: from the start of a trial (model built, data module set up, trainer made) to its
  first training batch, measured in the already-warm process, i.e. excluding imports.
* per-step framework cost: the same comparison with a linear model on digits, where a step
  costs almost nothing, so the difference is Lightning's own work per step (CPU time).

* memory layout: ``--arch`` and ``--data`` time a headline finalist instead, with the trial in
  the layout training picks (channels_last for 2D networks) and in the default NCHW layout
  (``lightning_nchw``, the trial before that choice), beside the bare loop (NCHW).

Run:  python benchmarks/train_throughput.py [--epochs 2] [--repeats 5] [--threads 2]
      python benchmarks/train_throughput.py --arch "s24 > inv2x16k3e4 > conv1x48k3/2 > inv2x64k5e6/p > relu bn" \
          --threads 1 --epochs 1 --train-fraction 0.1 --no-overhead
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import Split, make_split
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage
from nasbench.space.notation import parse_architecture
from nasbench.train.optim import make_optimizer
from nasbench.train.recipe import Recipe
from nasbench.train.run import train_network

# 61K parameters, 0.87 GFLOP per batch of 128 (forward + backward): a typical small searched net.
ARCH = Architecture(
    stages=(Stage("plain", 1, 32, downsample="stride"), Stage("plain", 2, 64, downsample="stride")),
    stem_width=16, stem_stride=2,
)


@dataclass(frozen=True)
class Setup:
    """What both sides share: data, split, recipe, epochs and how to build the model."""

    ds: ArrayDataset
    split: Split
    recipe: Recipe
    epochs: int
    make_model: Callable[[ArrayDataset], nn.Module]


@dataclass
class Run:
    """One timed trial."""

    startup_s: float
    train_s: float
    cpu_s: float  # process CPU time over the same span as train_s
    images: int
    steps: int
    val_acc: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.train_s

    @property
    def images_per_cpu_s(self) -> float:
        return self.images / self.cpu_s

    @property
    def cpu_us_per_step(self) -> float:
        return self.cpu_s / self.steps * 1e6


class FirstBatchClock:
    """Records when the model first sees a training batch (a forward pre-hook, so neither side
    needs instrumenting code)."""

    def __init__(self, model: nn.Module) -> None:
        self.t: float | None = None
        self.cpu = 0.0
        self.handle = model.register_forward_pre_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple) -> None:
        if module.training and self.t is None:
            self.t, self.cpu = time.perf_counter(), time.process_time()
            self.handle.remove()

    def run(self, t0: float, steps: int, batch_size: int, val_acc: float) -> Run:
        """The timings of a trial that started at ``t0`` and has just ended."""
        t_end, cpu_end = time.perf_counter(), time.process_time()
        assert self.t is not None, "the model never saw a training batch"
        return Run(self.t - t0, t_end - self.t, cpu_end - self.cpu, steps * batch_size, steps, val_acc)


def seeded_model(setup: Setup, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return setup.make_model(setup.ds)


def lightning_trial(setup: Setup, seed: int, channels_last: bool | None = None) -> Run:
    """The search worker's sequence: seed, build, data module, train_network."""
    t0 = time.perf_counter()
    model = seeded_model(setup, seed)
    clock = FirstBatchClock(model)
    dm = TensorDataModule(setup.ds, setup.split, batch_size=setup.recipe.batch_size, seed=seed)
    result = train_network(model, dm, setup.recipe, setup.epochs, seed=seed, device="cpu", channels_last=channels_last)
    return clock.run(t0, setup.epochs * len(dm.train_dataloader()), setup.recipe.batch_size, result.val_acc)


def bare_trial(setup: Setup, seed: int) -> Run:
    """A hand-written loop over the same tensors: the speed a trial could reach without Lightning."""
    t0 = time.perf_counter()
    model = seeded_model(setup, seed)
    clock = FirstBatchClock(model)
    dm = TensorDataModule(setup.ds, setup.split, batch_size=setup.recipe.batch_size, seed=seed)
    dm.setup("fit")
    x, y = dm.tensors["train"]
    b = setup.recipe.batch_size
    steps = len(y) // b
    opt, sched = make_optimizer(model, setup.recipe, setup.epochs, steps)
    gen = torch.Generator().manual_seed(seed)
    val_acc = 0.0
    for _ in range(setup.epochs):
        model.train()
        order = torch.randperm(len(y), generator=gen)
        loss_sum = torch.zeros(())
        for i in range(steps):
            idx = order[i * b : (i + 1) * b]
            loss = F.cross_entropy(model(x.index_select(0, idx)), y.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * b
        val_acc = validate(model, *dm.tensors["val"], dm.eval_batch_size)
        float(loss_sum)  # the epoch's train loss, read once as a trial does
    return clock.run(t0, setup.epochs * steps, b, val_acc)


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


SIDES: dict[str, Callable[[Setup, int], Run]] = {
    "lightning": lightning_trial,
    "lightning_nchw": lambda setup, seed: lightning_trial(setup, seed, channels_last=False),
    "bare": bare_trial,
}


def alternate(
    setup: Setup, repeats: int, show: bool, sides: tuple[str, ...] = ("lightning", "bare")
) -> dict[str, list[Run]]:
    """One warm-up trial per side on a sliver of the data, then ``repeats`` alternating pairs."""
    sp = setup.split
    # The warm-up pays first-call costs (lazy imports, allocator, kernel selection), so every
    # timed trial is a later trial in a warm process.
    sliver = replace(sp, train=sp.train[: 8 * setup.recipe.batch_size], val=sp.val[:256])
    for name in sides:
        SIDES[name](replace(setup, split=sliver, epochs=1), 0)
    runs: dict[str, list[Run]] = {name: [] for name in sides}
    for rep in range(repeats):
        for name in sides:
            r = SIDES[name](setup, 0)
            runs[name].append(r)
            if show:
                print(f"  {rep + 1} {name:14s} images/s={r.images_per_s:6.0f}  per CPU-s={r.images_per_cpu_s:6.0f}  "
                      f"startup={r.startup_s:.3f}s  train={r.train_s:.2f}s  val_acc={r.val_acc:.4f}", flush=True)
    return runs


def median(runs: list[Run], key: Callable[[Run], float]) -> float:
    return statistics.median(key(r) for r in runs)


def throughput(args: argparse.Namespace) -> None:
    ds = load_dataset(args.data)
    split = make_split(ds, val_size=0.1, seed=0)
    if args.train_fraction < 1:
        split = replace(split, train=split.train_subset(args.train_fraction))
    arch = parse_architecture(args.arch) if args.arch else ARCH
    setup = Setup(ds, split, Recipe(batch_size=args.batch_size), args.epochs,
                  lambda d: build_network(arch, d.in_channels, d.num_classes, d.ndim))
    params = sum(p.numel() for p in seeded_model(setup, 0).parameters())
    print(f"model: {arch.summary()}  params={params:,}")
    print(f"data: {args.data} train={len(split.train)} val={len(split.val)}, batch={args.batch_size}, "
          f"epochs={args.epochs}, {args.repeats} rounds")
    sides = ("lightning", "lightning_nchw", "bare") if args.arch else ("lightning", "bare")
    runs = alternate(setup, args.repeats, show=True, sides=sides)
    if args.arch:
        ipc = {n: median(rs, lambda r: r.images_per_cpu_s) for n, rs in runs.items()}
        ipw = {n: median(rs, lambda r: r.images_per_s) for n, rs in runs.items()}
        for n in sides:
            print(f"median {n}: images/s {ipw[n]:.0f}, images per CPU-second {ipc[n]:.0f}")
        after = [a.images_per_cpu_s / b.images_per_cpu_s for a, b in zip(runs["lightning"], runs["lightning_nchw"])]
        print(f"after/before per CPU-second, per round: {', '.join(f'{q:.2f}' for q in after)}; "
              f"median {statistics.median(after):.2f}")
        print(f"after/bare per CPU-second: {ipc['lightning'] / ipc['bare']:.2f}; "
              f"before/bare: {ipc['lightning_nchw'] / ipc['bare']:.2f}")
        return
    ips = {n: median(rs, lambda r: r.images_per_s) for n, rs in runs.items()}
    ipc = {n: median(rs, lambda r: r.images_per_cpu_s) for n, rs in runs.items()}
    start = {n: median(rs, lambda r: r.startup_s) for n, rs in runs.items()}
    pairs = [a.images_per_s / b.images_per_s for a, b in zip(runs["lightning"], runs["bare"])]
    print(f"median images/s: lightning {ips['lightning']:.0f}, bare {ips['bare']:.0f}; "
          f"ratio {ips['lightning'] / ips['bare']:.3f}")
    print(f"ratio per pair: {', '.join(f'{q:.2f}' for q in pairs)}; median {statistics.median(pairs):.3f}")
    best = {n: max(r.images_per_s for r in rs) for n, rs in runs.items()}
    print(f"best images/s (least disturbed run): lightning {best['lightning']:.0f}, bare {best['bare']:.0f}; "
          f"ratio {best['lightning'] / best['bare']:.3f}")
    print(f"median images per CPU-second: lightning {ipc['lightning']:.0f}, bare {ipc['bare']:.0f}; "
          f"ratio {ipc['lightning'] / ipc['bare']:.3f}")
    print(f"median start-up to first batch: lightning {start['lightning']:.3f}s, bare {start['bare']:.3f}s")


def step_overhead(repeats: int) -> None:
    ds = load_dataset("digits")
    setup = Setup(ds, make_split(ds, seed=0), Recipe(batch_size=16), 3,
                  lambda d: nn.Sequential(nn.Flatten(), nn.Linear(64, d.num_classes)))
    runs = alternate(setup, repeats, show=False)
    us = {n: median(rs, lambda r: r.cpu_us_per_step) for n, rs in runs.items()}
    print(f"per-step CPU time, linear model on digits: lightning {us['lightning']:.0f} us, "
          f"bare {us['bare']:.0f} us; Lightning's own cost {us['lightning'] - us['bare']:.0f} us per step")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="timed pairs (after one warm-up per side)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--train-fraction", type=float, default=1.0)
    ap.add_argument("--arch", help="a network in the architecture notation (default: the 61K-parameter CNN)")
    ap.add_argument("--data", default="fashion_mnist")
    ap.add_argument("--no-overhead", action="store_true", help="skip the per-step framework cost")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}")
    throughput(args)
    if not args.no_overhead:
        step_overhead(max(args.repeats, 3))
    assert torch.get_num_threads() == args.threads, "a trial changed the thread count"
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine)")


if __name__ == "__main__":
    main()
