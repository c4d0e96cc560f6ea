"""nasbench: neural architecture search and benchmarking for convolutional networks."""

__version__ = "0.1.0"
