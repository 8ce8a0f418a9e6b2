"""fit / evaluate / predict and the Keras 2 batch methods."""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


def linear_data(rng, n=256):
    x = rng.standard_normal((n, 3)).astype("float32")
    w = np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    return x, x @ w + 0.3


def binary_data(rng, n=400):
    x = rng.standard_normal((n, 20)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("float32")
    return x, y


def small_binary_model():
    inputs = keras.Input(shape=(20,))
    h = layers.Dense(16, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))


def test_fit_learns_a_linear_function(rng):
    x, y = linear_data(rng)
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 1e-3 < history.history["loss"][0]
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel.ravel(), [1.0, -2.0, 0.5], atol=0.02)
    np.testing.assert_allclose(bias, [0.3], atol=0.02)
    assert history.epoch == list(range(20))
    assert history.params["epochs"] == 20 and history.params["steps"] == 8


def test_history_keys_are_keras_names_in_alphabetical_order(rng):
    x, y = binary_data(rng)
    model = small_binary_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.history["accuracy"][-1] > 0.8
    assert all(len(v) == 3 for v in history.history.values())


def test_validation_split_takes_the_last_samples_before_shuffling(rng):
    x, y = linear_data(rng, 100)
    y[80:] = 1000.0  # only the held-out tail has these targets
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    direct = model.evaluate(x[80:], y[80:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(direct, rel=1e-5)
    assert history.history["val_loss"][0] > 1e5


def test_evaluate_returns_scalar_list_or_dict(rng):
    x, y = binary_data(rng)
    model = small_binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, y, verbose=0)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert as_dict == {"accuracy": accuracy, "loss": loss}
    preds = model.predict(x, verbose=0).ravel()
    expected_accuracy = np.mean((preds > 0.5) == (y > 0.5))
    assert accuracy == pytest.approx(expected_accuracy, abs=1e-6)
    p = np.clip(preds.astype("float64"), 1e-7, 1 - 1e-7)
    expected_loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert loss == pytest.approx(expected_loss, rel=1e-4)


def test_predict_batches_match_a_single_call(rng):
    x, _ = binary_data(rng, 70)
    model = small_binary_model()
    full = model(x).numpy()
    np.testing.assert_allclose(model.predict(x, batch_size=16, verbose=0), full, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), full, rtol=1e-6)


def test_train_and_test_on_batch(rng):
    x, y = binary_data(rng, 64)
    model = small_binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    loss, acc = model.train_on_batch(x, y)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert 0.0 <= acc <= 1.0 and loss > 0
    test_loss, test_acc = model.test_on_batch(x, y)
    assert model.test_on_batch(x, y, return_dict=True) == {"accuracy": test_acc,
                                                           "loss": test_loss}
    direct = model.evaluate(x, y, batch_size=64, verbose=0)
    assert [test_loss, test_acc] == pytest.approx(direct, rel=1e-6)


def test_sample_weight_zero_ignores_samples(rng):
    x, y = linear_data(rng, 64)
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    weights = np.zeros(64, dtype="float32")
    weights[:32] = 1.0
    weighted = model.evaluate(x, y, sample_weight=weights, batch_size=64, verbose=0)
    residual = (model.predict(x, verbose=0) - y).ravel() ** 2
    assert weighted == pytest.approx(residual[:32].sum() / 64, rel=1e-5)


def test_class_weight_scales_the_loss(rng):
    x, y = binary_data(rng, 64)
    model = small_binary_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    base = model.test_on_batch(x, y)
    p = np.clip(model.predict(x, verbose=0).ravel().astype("float64"), 1e-7, 1 - 1e-7)
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    w = np.where(y > 0.5, 3.0, 1.0)
    model.train_on_batch(x, y, class_weight={0: 1.0, 1: 3.0})  # runs; weights change
    assert base == pytest.approx(per_sample.mean(), rel=1e-4)
    model2 = small_binary_model()
    model2.set_weights(model.get_weights())
    model2.compile(optimizer="sgd", loss="binary_crossentropy")
    p2 = np.clip(model2.predict(x, verbose=0).ravel().astype("float64"), 1e-7, 1 - 1e-7)
    per_sample2 = -(y * np.log(p2) + (1 - y) * np.log(1 - p2))
    weighted = model2.evaluate(x, y, sample_weight=w.astype("float32"), batch_size=64,
                               verbose=0)
    assert weighted == pytest.approx((per_sample2 * w).mean(), rel=1e-4)


def test_stop_training_is_honoured(rng):
    x, y = linear_data(rng, 64)
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert history.epoch == [0, 1]


def test_integer_labels_stay_integers_and_lists_are_converted(rng):
    x = rng.standard_normal((30, 4)).tolist()
    y = [i % 3 for i in range(30)]
    model = keras.Sequential([layers.Dense(3, input_shape=(4,), activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_call_on_arrays_for_inference(rng):
    model = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    x = rng.standard_normal((4, 3)).astype("float32")
    out = model(x)
    np.testing.assert_allclose(out.numpy(), model.predict(x, verbose=0), rtol=1e-6)


def test_steps_per_epoch_limits_batches(rng):
    x, y = linear_data(rng, 320)
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    batches = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    model.fit(x, y, epochs=1, steps_per_epoch=3, verbose=0, callbacks=[Count()])
    assert batches == [0, 1, 2]
