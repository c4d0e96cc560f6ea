"""Every built-in loader; importing this package registers them."""

from nasbench.data.loaders import digits, fashion_mnist  # noqa: F401
