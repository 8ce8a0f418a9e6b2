"""Utilities: downloading files, label encoding, seeding (`keras.utils` names)."""

from gkeras.utils.file_utils import get_file  # noqa: F401
from gkeras.utils.numerical_utils import normalize, to_categorical  # noqa: F401
from gkeras.utils.plotting import model_to_dot, plot_history, plot_model  # noqa: F401
from gkeras.utils.progbar import Progbar  # noqa: F401
from gkeras.utils.rng_utils import set_random_seed  # noqa: F401
from gkeras.utils.sequence import PyDataset, Sequence  # noqa: F401
from gkeras.utils.sequence_utils import pad_sequences  # noqa: F401


def __getattr__(name):
    # Keras 3 also exposes the serialization registry here; gkeras.saving loads on first use
    if name in _SAVING_NAMES:
        from gkeras import saving

        return getattr(saving, name)
    raise AttributeError(f"module 'gkeras.utils' has no attribute {name!r}")


_SAVING_NAMES = ("register_keras_serializable", "custom_object_scope", "get_custom_objects",
                 "serialize_keras_object", "deserialize_keras_object", "get_registered_name",
                 "get_registered_object")
