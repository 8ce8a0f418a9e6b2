"""Loss and metric configs come back through one deserializer, with the same errors for both."""

import numpy as np
import pytest

import gkeras as keras


def my_error(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_pred - y_true), axis=-1)


@pytest.mark.parametrize("module, kind, kinds, name", [
    (keras.losses, "loss", "losses", "mean_squared_error"),
    (keras.metrics, "metric", "metrics", "mse"),
])
def test_round_trip_and_errors(module, kind, kinds, name):
    obj = module.get(name)
    again = module.deserialize(module.serialize(obj))
    assert type(again) is type(obj)
    with pytest.raises(ValueError, match=rf"Unknown {kind} class 'Nope'.*"
                                         rf"pass user-defined {kinds} through"):
        module.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match=rf"Could not deserialize {kind} from 3"):
        module.deserialize(3)


@pytest.mark.parametrize("module", [keras.losses, keras.metrics])
def test_wrapped_function_is_found_in_custom_objects(module):
    # losses.get returns a plain function as is (Keras); as_loss wraps it, as compile does
    wrapped = module.as_loss(my_error) if module is keras.losses else module.get(my_error)
    config = module.serialize(wrapped)
    assert isinstance(config, dict) and config["config"]["fn"] == "my_error"
    restored = module.deserialize(config, custom_objects={"my_error": my_error})
    y_true, y_pred = np.zeros((2, 3), "float32"), np.ones((2, 3), "float32")
    if module is keras.losses:
        assert float(restored(y_true, keras.ops.convert_to_tensor(y_pred))) == 1.0
    else:
        restored.update_state(y_true, y_pred)
        assert float(restored.result()) == 1.0
