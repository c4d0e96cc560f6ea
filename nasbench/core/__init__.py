"""The vocabulary every layer shares: errors, the registry helper, enums, durations, provenance.

Imports nothing else of nasbench, and nothing heavy (no torch, pandas or Ray).
"""
