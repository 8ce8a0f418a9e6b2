"""The Iris flower dataset (Fisher, 1936), shipped inside the package."""

import numbers
from importlib import resources

import numpy as np

FEATURE_NAMES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASS_NAMES = ("setosa", "versicolor", "virginica")


def _read_all():
    text = resources.files("gkeras.datasets").joinpath("data", "iris.csv").read_text("ascii")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    header = lines[0].split(",")
    if tuple(header) != FEATURE_NAMES + ("species",):
        raise ValueError(f"The embedded iris.csv has columns {header}; the package is damaged.")
    table = np.loadtxt(lines[1:], delimiter=",", dtype=np.float64, ndmin=2)
    return table[:, :4], table[:, 4].astype(np.int64)


def load_data(test_split=0.2, seed=113):
    """Loads the Iris dataset: 150 flowers, 4 measurements (cm), 3 species.

    The data ships with gkeras, so this works without a network. The split is stratified:
    each species contributes `round(50 * test_split)` flowers to the test set, chosen with
    a generator seeded by `seed`; both sets are then shuffled.

    Features, in order: sepal length, sepal width, petal length, petal width
    (`FEATURE_NAMES`). Labels: 0 setosa, 1 versicolor, 2 virginica (`CLASS_NAMES`).

    Args:
        test_split: fraction of the data to reserve as the test set, in `[0, 1)`.
        seed: random seed for the split and the shuffling.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`; `x` is float32 of shape
        `(n, 4)`, `y` is int64 of shape `(n,)`. The default split gives 120 and 30 samples.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = gkeras.datasets.iris.load_data()
    assert x_train.shape == (120, 4) and x_test.shape == (30, 4)
    ```

    Reference:
        R. A. Fisher, "The use of multiple measurements in taxonomic problems",
        Annals of Eugenics 7(2), 179-188 (1936).
    """
    if (
        isinstance(test_split, bool)
        or not isinstance(test_split, numbers.Real)
        or not 0 <= test_split < 1
    ):
        raise ValueError(f"test_split must be a number in [0, 1); received {test_split!r}.")
    x, y = _read_all()
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for label in range(len(CLASS_NAMES)):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(len(members) * test_split))
        test_idx.append(members[:n_test])
        train_idx.append(members[n_test:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    x = x.astype(np.float32)
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])
