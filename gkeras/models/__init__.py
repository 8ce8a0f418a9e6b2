"""Models (`keras.models`): `Model`, `Sequential`, and saving / loading entry points."""

from gkeras.models.functional import Functional  # noqa: F401
from gkeras.models.model import Model  # noqa: F401
from gkeras.models.sequential import Sequential  # noqa: F401


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved with `model.save()` (HDF5); see `gkeras.saving.load_model`."""
    from gkeras.saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialised weights."""
    config = model.get_config()
    return type(model).from_config(config)
