"""Flat and blocked optimizer updates (`gkeras.optimizers.flat`) give the per-variable result.

Each test runs an optimizer twice from the same start: once as shipped (small variables
packed into one buffer, large ones updated block by block) and once through a subclass that
overrides `update_step` without declaring it elementwise, which forces the plain
per-variable path. Both must agree bit for bit, variables and optimizer state alike.
"""

import numpy as np
import pytest

from gkeras import optimizers
from gkeras.autodiff import Variable
from gkeras.optimizers import flat

SHAPES = [(3, 4), (4,), (5, 2, 3), (1,), (40,)]  # (40,) exceeds the test's block size

CONFIGS = [
    (optimizers.Adam, {}),
    (optimizers.Adam, {"amsgrad": True, "global_clipnorm": 0.5}),
    (optimizers.AdamW, {"weight_decay": 0.1}),
    (optimizers.Adamax, {"clipvalue": 0.3}),
    (optimizers.Nadam, {}),
    (optimizers.SGD, {"learning_rate": 0.1}),
    (optimizers.SGD, {"momentum": 0.9, "nesterov": True, "loss_scale_factor": 4.0}),
    (optimizers.RMSprop, {"momentum": 0.5, "centered": True}),
    (optimizers.Adagrad, {}),
    (optimizers.Adadelta, {"learning_rate": 1.0}),
    (optimizers.Adam, {"use_ema": True, "ema_overwrite_frequency": 2}),
]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(flat, "BLOCK", 16)  # so the blocked path runs on tiny variables


def per_variable(cls):
    """`cls` with an undeclared `update_step` override: updates one variable at a time."""

    class PerVariable(cls):
        def update_step(self, gradient, variable, slots, learning_rate):
            super().update_step(gradient, variable, slots, learning_rate)

    return PerVariable


def train(cls, kwargs, dtype="float32", steps=4):
    rng = np.random.default_rng(7)
    variables = [Variable(rng.standard_normal(s).astype(dtype), name=f"v{i}")
                 for i, s in enumerate(SHAPES)]
    opt = cls(**kwargs)
    for _ in range(steps):
        opt.apply([rng.standard_normal(s).astype(dtype) for s in SHAPES], variables)
    return variables, opt


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flat_update_equals_per_variable_update(cls, kwargs, dtype):
    packed, opt = train(cls, kwargs, dtype)
    plain, ref = train(per_variable(cls), kwargs, dtype)
    assert opt._flat is not None and ref._flat is None
    for a, b in zip(packed, plain):
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(opt.variables) == len(ref.variables)
    for a, b in zip(opt.variables, ref.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_small_variables_share_one_buffer_and_stay_usable():
    variables, opt = train(optimizers.Adam, {})
    group = opt._flat
    small = [variables[i] for i in group.small]
    assert [v.shape for v in small] == [(3, 4), (4,), (1,)]  # (5, 2, 3) and (40,) are large
    for v in small:
        assert v.data.base is group.params
    # assign writes into the buffer the optimizer updates
    variables[0].assign(np.zeros((3, 4)))
    assert not group.params[:12].any()
    # optimizer state written through set_weights lands in the flat slots
    weights = opt.get_weights()
    opt.set_weights([np.full_like(w, 0.5) for w in weights])
    assert (group.slots["momentum"] == 0.5).all()
    before = [v.numpy().copy() for v in variables]
    opt.apply([np.ones(s, "float32") for s in SHAPES], variables)
    assert all((v.numpy() != b).all() for v, b in zip(variables, before))


def test_replaced_data_or_a_new_variable_list_is_planned_again():
    variables, opt = train(optimizers.Adam, {})
    first = opt._flat
    variables[1].data = np.zeros(4, "float32")  # someone rebinds the array: plan again
    opt.apply([np.ones(s, "float32") for s in SHAPES], variables)
    assert opt._flat is not first and opt._flat.matches(variables)
    # the rebound variable was updated, from the zeros it was given
    assert (variables[1].numpy() != 0).all() and variables[1].data.base is opt._flat.params
    extra = Variable(np.ones((2, 2), "float32"))
    opt.apply([np.ones(s, "float32") for s in SHAPES] + [np.ones((2, 2), "float32")],
              variables + [extra])
    assert opt._flat.matches(variables + [extra])


def test_a_list_that_keeps_changing_falls_back_to_per_variable_updates():
    rng = np.random.default_rng(0)
    a = [Variable(rng.standard_normal((3,)).astype("float32")) for _ in range(2)]
    b = [Variable(rng.standard_normal((2,)).astype("float32")) for _ in range(2)]
    opt = optimizers.SGD(0.1)
    for step in range(8):
        group = a if step % 2 else b
        before = [v.numpy().copy() for v in group]
        opt.apply([np.ones(v.shape, "float32") for v in group], group)
        for v, old in zip(group, before):
            np.testing.assert_allclose(v.numpy(), old - 0.1, rtol=1e-6)
    # b, a, b, a were planned in turn; after that the last plan (for a) is kept and b runs
    # per variable
    assert opt._flat_repacks == 3
    assert opt._flat.matches(a) and opt._flat_group(b) is None


def test_per_variable_rules_are_not_packed():
    variables, opt = train(per_variable(optimizers.Adam), {})
    assert opt._flat is None and all(v.data.base is None for v in variables)
    variables, opt = train(optimizers.Adam, {"clipnorm": 1.0})  # clipping per variable
    assert opt._flat is None


def test_mixed_dtypes_are_not_packed():
    opt = optimizers.SGD(0.5)
    v32 = Variable(np.ones(3, "float32"))
    v64 = Variable(np.ones(3, "float64"))
    opt.apply([np.ones(3, "float32"), np.ones(3, "float64")], [v32, v64])
    assert opt._flat is None
    np.testing.assert_allclose(v32.numpy(), 0.5)
    np.testing.assert_allclose(v64.numpy(), 0.5)

