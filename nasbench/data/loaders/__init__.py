"""Every built-in loader; importing this package registers them."""

from nasbench.data.loaders import cifar10, digits, fashion_mnist, image_folder, mnist1d, npz  # noqa: F401
