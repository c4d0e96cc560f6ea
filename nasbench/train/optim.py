"""The recipe's optimizer and per-step schedule (linear warm-up, then cosine to zero)."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from nasbench.train.recipe import Recipe


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weights only: norms and biases (1-D parameters) are not decayed."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based)."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(
    model: nn.Module, recipe: Recipe, epochs: int, steps_per_epoch: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """The optimizer and a scheduler to step once per optimizer step."""
    groups = param_groups(model, recipe.weight_decay)
    if recipe.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=True)
    else:
        opt = torch.optim.AdamW(groups, lr=recipe.lr)
    total = max(1, epochs * steps_per_epoch)
    warmup = min(total - 1, int(recipe.warmup_epochs * steps_per_epoch))
    # partial, not a closure: the scheduler stays picklable.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, partial(lr_factor, warmup=warmup, total=total))
    return opt, sched


def check_recipe(recipe: Recipe) -> None:
    """Refuse a recipe whose optimizer cannot be built (e.g. SGD's Nesterov momentum of 0), before
    a search spends its budget on trials that would all fail the same way."""
    from nasbench.errors import ConfigError

    try:
        make_optimizer(nn.Linear(1, 1), recipe, epochs=1, steps_per_epoch=1)
    except (ValueError, RuntimeError) as e:
        raise ConfigError(f"field 'recipe': {recipe.optimizer} cannot be built with these settings ({e}).") from e
