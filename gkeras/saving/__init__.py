"""Saving and loading (`keras.saving`): `.keras` archives, HDF5 models and weights in Keras's
layouts, and the serialization registry.

- `save_model(model, "x.keras")` / `load_model("x.keras")`: Keras 3's zip archive
  (`metadata.json`, `config.json`, `model.weights.h5`), readable by Keras 3 both ways.
- `save_model(model, "x.h5")` / `load_model("x.h5")`: architecture, weights, compile config
  and optimizer state in Keras's legacy HDF5 layout.
- `save_weights(model, path)` / `load_weights(model, path)`: `*.weights.h5` in Keras 3's
  layout, other `*.h5` in the legacy one.
- Every write is atomic (temporary file, fsync, rename), and loading checks the whole file
  before it assigns a single weight.
"""

from gkeras.saving.model_io import load_model, load_weights, save_model, save_weights  # noqa: F401
from gkeras.saving.model_methods import SavingMixin  # noqa: F401
from gkeras.saving.serialization import (  # noqa: F401
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)
