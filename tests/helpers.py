"""Test helpers: float64 central-difference gradient checks and small utilities."""

import numpy as np

from gkeras.autodiff import Variable
from gkeras.backend import backend_of


def to_host(array):
    return backend_of(array).to_numpy(array)


def check_gradients(
    fn, *arrays, bk=None, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0, elementwise_limit=64, directions=2
):
    """Checks autodiff gradients of `fn` against central finite differences in float64.

    `fn(*tensors)` must return a Tensor. A fixed random projection `v` turns the output into
    a scalar `sum(v * fn(x))`. Each input's analytic gradient is compared with central
    differences elementwise when the input has at most `elementwise_limit` entries, and
    always along `directions` random directions d:
    `(f(x + eps d) - f(x - eps d)) / 2 eps == <grad, d>` (Chainer's `check_backward` idea:
    two forwards per direction, whatever the input size).

    The check runs in float64 end to end: the output and every gradient must stay float64.
    """
    from gkeras import backend as backend_module

    bk = bk or backend_module.get_backend()
    rng = np.random.default_rng(seed)
    host = [np.asarray(a, dtype=np.float64) for a in arrays]
    variables = [Variable(bk.asarray(a.copy())) for a in host]
    out = fn(*variables)
    assert out.dtype == np.float64, f"float64 inputs gave a {out.dtype} output"
    v = rng.standard_normal(out.shape)
    v_dev = bk.asarray(v)

    def scalar(values):
        tensors = [Variable(bk.asarray(a)) for a in values]
        return float(to_host((fn(*tensors).data * v_dev).sum()))

    (out * v_dev).sum().backward()
    for index, var in enumerate(variables):
        if var.grad is not None:
            assert var.grad.dtype == np.float64, f"gradient of input {index} is {var.grad.dtype}"
        analytic = np.zeros_like(host[index]) if var.grad is None else to_host(var.grad)
        assert analytic.shape == host[index].shape, (analytic.shape, host[index].shape)
        if host[index].size <= elementwise_limit:
            numeric = np.zeros_like(host[index])
            flat = numeric.reshape(-1)
            for i in range(host[index].size):
                plus = [a.copy() for a in host]
                minus = [a.copy() for a in host]
                plus[index].reshape(-1)[i] += eps
                minus[index].reshape(-1)[i] -= eps
                flat[i] = (scalar(plus) - scalar(minus)) / (2 * eps)
            np.testing.assert_allclose(
                analytic, numeric, rtol=rtol, atol=atol, err_msg=f"gradient of input {index}"
            )
        for _ in range(directions):
            direction = rng.standard_normal(host[index].shape)
            plus = [a.copy() for a in host]
            minus = [a.copy() for a in host]
            plus[index] += eps * direction
            minus[index] -= eps * direction
            numeric_dir = (scalar(plus) - scalar(minus)) / (2 * eps)
            analytic_dir = float((analytic * direction).sum())
            np.testing.assert_allclose(
                analytic_dir,
                numeric_dir,
                rtol=rtol,
                atol=atol,
                err_msg=f"directional gradient of input {index}",
            )


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    """Compares a Tensor or array (on any backend) with a NumPy reference."""
    if hasattr(actual, "numpy"):
        actual = actual.numpy()
    elif not isinstance(actual, np.ndarray):
        actual = to_host(actual)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
