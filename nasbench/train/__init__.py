"""Training: the recipe and fidelity, the LightningModule, and the evaluator that trains one network.

Light on import: ``nasbench.train.evaluate`` and ``nasbench.train.run`` bring torch and Lightning.
"""

from nasbench.train.recipe import Fidelity, Recipe

__all__ = ["Fidelity", "Recipe"]
