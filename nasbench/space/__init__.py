"""Search spaces: the YAML format, sampling through Optuna, and the Architecture value."""

from nasbench.space.architecture import Architecture, Stage

__all__ = ["Architecture", "Stage"]
