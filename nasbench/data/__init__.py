"""Data sets (in-memory arrays), seeded splits and the Lightning DataModule that feeds trials."""

from nasbench.data.dataset import ArrayDataset
from nasbench.data.registry import dataset_names, load_dataset, register_dataset

__all__ = ["ArrayDataset", "dataset_names", "load_dataset", "register_dataset"]
