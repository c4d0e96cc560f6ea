"""Training: the recipe, the LightningModule and the function that trains one network."""

from nasbench.train.recipe import Fidelity, Recipe
from nasbench.train.run import TrainResult, train_network

__all__ = ["Fidelity", "Recipe", "TrainResult", "train_network"]
