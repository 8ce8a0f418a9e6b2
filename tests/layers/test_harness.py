"""The harness must catch broken layers: each deliberately faulty layer here must fail it."""

import numpy as np
import pytest

from gkeras import ops
from gkeras.autodiff import Function
from gkeras.layers import Layer

from .harness import run_layer_test


class _Scale(Layer):
    """A correct reference layer: `x * w` with one weight per feature."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal",
                                 name="w")

    def call(self, inputs):
        return ops.multiply(inputs, self.w)


def _run(layer_cls, **overrides):
    kwargs = dict(input_shape=(3, 4), expected_output_shape=(3, 4),
                  expected_num_trainable_weights=1)
    kwargs.update(overrides)
    return run_layer_test(layer_cls, {}, **kwargs)


def test_reference_layer_passes(bk):
    layer = _run(_Scale)
    assert layer.w.shape == (4,)


def test_wrong_expected_shape_fails(bk):
    with pytest.raises(AssertionError, match="output shape"):
        _run(_Scale, expected_output_shape=(3, 5))


def test_wrong_weight_count_fails(bk):
    with pytest.raises(AssertionError, match="trainable weights"):
        _run(_Scale, expected_num_trainable_weights=2)


def test_unused_trainable_weight_fails(bk):
    class Unused(_Scale):
        def build(self, input_shape):
            super().build(input_shape)
            self.extra = self.add_weight(shape=(2,), name="extra")

    with pytest.raises(AssertionError, match="extra got no gradient"):
        _run(Unused, expected_num_trainable_weights=2)


def test_zero_gradient_weight_fails(bk):
    class Dead(_Scale):
        def call(self, inputs):
            # the weight is used, but multiplied by zero: SGD cannot change it
            return ops.add(inputs, ops.multiply(self.w, 0.0))

    with pytest.raises(AssertionError, match="unchanged"):
        _run(Dead)


def test_incomplete_config_fails(bk):
    class Shifted(_Scale):
        def __init__(self, shift=0.0, **kwargs):
            super().__init__(**kwargs)
            self.shift = shift

        def call(self, inputs):
            return ops.add(super().call(inputs), self.shift)

    with pytest.raises(AssertionError, match="clone computes differently"):
        run_layer_test(Shifted, {"shift": 2.0}, input_shape=(3, 4), expected_output_shape=(3, 4),
                       expected_num_trainable_weights=1)


class _WrongBackward(Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0].data  # should be 2 x gy


def test_wrong_gradient_fails(bk):
    class Squared(_Scale):
        def call(self, inputs):
            return _WrongBackward()(super().call(inputs))

    with pytest.raises(AssertionError, match="finite differences"):
        _run(Squared)


def test_float32_only_layer_fails_float64_pass(bk):
    class Float32Only(_Scale):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), dtype="float32", name="w")

    with pytest.raises(AssertionError, match="float64 pass"):
        _run(Float32Only)


def test_wrong_compute_output_shape_fails(bk):
    class BadShape(_Scale):
        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (7,)

    with pytest.raises(AssertionError, match="compute_output_shape"):
        _run(BadShape)


def test_random_inference_fails(bk):
    class Noisy(_Scale):
        def call(self, inputs):
            noise = np.random.default_rng().standard_normal(inputs.shape).astype(inputs.dtype)
            return ops.add(super().call(inputs), noise)

    with pytest.raises(AssertionError, match="not deterministic"):
        _run(Noisy)


def test_duplicate_weight_names_fail(bk):
    class Twice(_Scale):
        def build(self, input_shape):
            super().build(input_shape)
            self.v = self.add_weight(shape=(input_shape[-1],), name="w")

        def call(self, inputs):
            return ops.multiply(super().call(inputs), self.v)

    with pytest.raises(AssertionError, match="duplicate weight paths"):
        _run(Twice, expected_num_trainable_weights=2)


def test_state_outside_weights_fails(bk):
    class Hidden(_Scale):
        def build(self, input_shape):
            super().build(input_shape)
            # state drawn at build time but not a weight: clones cannot reproduce it
            self.offset = float(np.random.default_rng().standard_normal())

        def call(self, inputs):
            return ops.add(super().call(inputs), self.offset)

    with pytest.raises(AssertionError, match="clone computes differently"):
        _run(Hidden)
