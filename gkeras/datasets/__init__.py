"""Small standard datasets (`keras.datasets` names): each module has a `load_data()`.

MNIST, Fashion-MNIST and CIFAR-10 are read from the dataset folder (`$GKERAS_DATASETS`, else
`~/.gkeras/datasets`) and downloaded there when missing; Iris ships with the package.
"""

from gkeras.datasets import cifar10, fashion_mnist, iris, mnist  # noqa: F401
