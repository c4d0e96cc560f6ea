"""Measurements of a built network: params, FLOPs, latency, peak memory, receptive field."""

from nasbench.measure.counts import count_flops, count_params

__all__ = ["count_flops", "count_params"]
