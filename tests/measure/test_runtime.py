"""Latency and peak memory: what they report, and that measuring leaves the model as it was."""

from __future__ import annotations

import statistics

import pytest
import torch
from torch import nn

from nasbench.errors import NasbenchError
from nasbench.measure import LatencyResult, latency, peak_memory

FLOAT = 4  # bytes


def chain(depth: int, ch: int = 16) -> nn.Sequential:
    """conv-relu pairs at one width, every activation the same size."""
    layers: list[nn.Module] = [nn.Conv2d(3, ch, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


def small_cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.Conv2d(32, 32, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(32, 10))


# --- latency ------------------------------------------------------------------------------

def test_latency_reports_the_median_of_the_timed_runs_per_batch_size() -> None:
    result = latency(small_cnn(), (3, 16, 16), batch_sizes=(1, 4), warmup=1, repeats=5)
    assert isinstance(result, LatencyResult)
    assert set(result.median_ms) == set(result.samples_ms) == {1, 4}
    for b, samples in result.samples_ms.items():
        assert len(samples) == 5 and all(s > 0 for s in samples)
        assert result.median_ms[b] == statistics.median(samples)
    assert result.threads == torch.get_num_threads()
    assert result.device == "cpu"


def test_a_larger_batch_takes_longer() -> None:
    result = latency(small_cnn(), (3, 32, 32), batch_sizes=(1, 32), warmup=2, repeats=7)
    # The fastest runs: other processes can only slow a run down, never speed it up.
    assert min(result.samples_ms[32]) > min(result.samples_ms[1])


def test_measuring_latency_keeps_the_models_mode_and_batch_norm_statistics() -> None:
    model = small_cnn().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    latency(model, (3, 16, 16), batch_sizes=(2,), warmup=1, repeats=2)
    assert all(m.training for m in model.modules())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_sizes": ()}, "batch_sizes"), ({"batch_sizes": (0,)}, "batch_sizes"),
    ({"repeats": 0}, "repeats"), ({"warmup": -1}, "warmup"),
])
def test_latency_refuses_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(NasbenchError, match=match):
        latency(small_cnn(), (3, 8, 8), **kwargs)


# --- peak memory --------------------------------------------------------------------------

def test_the_peak_covers_the_largest_activation_and_is_deterministic() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 32, 3, padding=1),
                          nn.MaxPool2d(2))
    largest = 32 * 24 * 24 * FLOAT  # the second conv's output
    first = peak_memory(model, (3, 24, 24))
    assert first >= largest
    assert peak_memory(model, (3, 24, 24)) == first


def test_the_peak_counts_live_activations_not_every_activation() -> None:
    one = 16 * 20 * 20 * FLOAT
    # A chain keeps at most an activation and the next one alive, however deep it is.
    assert peak_memory(chain(3), (3, 20, 20)) == peak_memory(chain(12), (3, 20, 20))
    assert one <= peak_memory(chain(12), (3, 20, 20)) <= 3 * one


def test_parameters_and_the_input_are_not_counted() -> None:
    assert peak_memory(nn.Identity(), (3, 64, 64)) == 0
    big = nn.Conv2d(64, 64, 7, padding=3)  # 800 kB of weights, 4 kB of output
    assert peak_memory(big, (64, 4, 4)) < 64 * 4 * 4 * FLOAT * 2


def test_the_peak_grows_with_the_batch() -> None:
    assert peak_memory(chain(4), (3, 16, 16), batch_size=4) == 4 * peak_memory(chain(4), (3, 16, 16))


def test_measuring_memory_keeps_the_models_mode() -> None:
    model = small_cnn().train()
    peak_memory(model, (3, 8, 8))
    assert model.training


@pytest.mark.parametrize("shape", [(3,), (3, -1, 4)])
def test_runtime_measures_refuse_a_bad_input_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(NasbenchError, match="input_shape"):
        peak_memory(small_cnn(), shape)
    with pytest.raises(NasbenchError, match="input_shape"):
        latency(small_cnn(), shape)
