"""Vocabulary every layer may use: registry helper, enums, durations, provenance, config loading.

Light on purpose (standard library, pydantic and yaml only): everything imports it.
"""
