"""Utilities: downloading files, label encoding, seeding (`keras.utils` names)."""

from gkeras.utils.file_utils import get_file  # noqa: F401
from gkeras.utils.numerical_utils import normalize, to_categorical  # noqa: F401
from gkeras.utils.plotting import model_to_dot, plot_history, plot_model  # noqa: F401
from gkeras.utils.progbar import Progbar  # noqa: F401
from gkeras.utils.rng_utils import set_random_seed  # noqa: F401
from gkeras.utils.sequence import PyDataset, Sequence  # noqa: F401
