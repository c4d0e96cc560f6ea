"""Benchmarking: tabular benchmarks, sampler replay and zero-cost proxies."""
