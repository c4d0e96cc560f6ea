"""Building blocks and the builder that turns an Architecture into a torch module."""

from nasbench.nn.builder import Network, build_network

__all__ = ["Network", "build_network"]
