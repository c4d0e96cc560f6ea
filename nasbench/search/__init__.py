"""The search runner: samplers, the Ray Tune searcher and trial worker, resume, budgets."""
