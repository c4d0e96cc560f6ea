"""Measurements of a built network: params, FLOPs, latency, peak memory, receptive field."""

from nasbench.measure.counts import count_flops, count_params
from nasbench.measure.receptive_field import ReceptiveField, receptive_field, receptive_field_info
from nasbench.measure.registry import MEASURES, Measurements, get_measure, measure, register_measure
from nasbench.measure.runtime import LatencyResult, latency, peak_memory

__all__ = [
    "MEASURES",
    "LatencyResult",
    "Measurements",
    "ReceptiveField",
    "count_flops",
    "count_params",
    "get_measure",
    "latency",
    "measure",
    "peak_memory",
    "receptive_field",
    "receptive_field_info",
    "register_measure",
]
