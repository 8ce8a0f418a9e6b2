"""Errors a Keras user meets: clear, naming what was expected and what came."""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


def compiled_model():
    inputs = keras.Input(shape=(4,), name="features")
    model = keras.Model(inputs, layers.Dense(1, name="score")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_before_compile():
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(RuntimeError, match="compile"):
        model.evaluate(np.zeros((4, 2)), np.zeros((4, 1)))
    # Keras 3 code catches a ValueError here, Keras 2 code a RuntimeError: both work
    with pytest.raises(ValueError, match="You must compile your model before training"):
        keras.Sequential([layers.Dense(1, input_shape=(4,))]).fit(
            np.zeros((4, 4)), np.zeros((4, 1)), verbose=0)


def test_sample_counts_differ():
    with pytest.raises(ValueError, match=r"x sizes: 10.*y sizes: 8"):
        compiled_model().fit(np.zeros((10, 4)), np.zeros((8, 1)), verbose=0)


def test_dict_keys_matching_no_input_or_output():
    model = compiled_model()
    with pytest.raises(ValueError, match=r"\['pixels'\].*features"):
        model.fit({"pixels": np.zeros((4, 4))}, np.zeros((4, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"\['label'\].*score"):
        model.fit(np.zeros((4, 4)), {"label": np.zeros((4, 1))}, verbose=0)


def test_wrong_feature_shape_names_the_input():
    with pytest.raises(ValueError, match=r"features.*\(None, 4\).*\(None, 5\)"):
        compiled_model().fit(np.zeros((4, 5)), np.zeros((4, 1)), verbose=0)


def test_empty_x():
    with pytest.raises(ValueError, match="empty"):
        compiled_model().fit(np.zeros((0, 4)), np.zeros((0, 1)), verbose=0)


def test_non_finite_loss_warns_naming_the_batch():
    model = compiled_model()
    x = np.ones((8, 4), dtype="float32")
    y = np.ones((8, 1), dtype="float32")
    y[5] = np.nan
    with pytest.warns(RuntimeWarning, match=r"Non-finite loss .* batch 1"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)


def test_validation_data_must_be_a_tuple():
    with pytest.raises(ValueError, match="validation_data"):
        compiled_model().fit(np.zeros((4, 4)), np.zeros((4, 1)), validation_data=[1],
                             verbose=0)
