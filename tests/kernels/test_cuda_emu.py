"""The CPU emulator itself: shuffles, barriers, shared memory and atomics behave as on a GPU, and
the mistakes it exists to catch (divergent barriers, partial-warp shuffles, bad arguments) fail
the launch with a message instead of passing silently."""

import emulator
import numpy as np
import pytest

from gkeras.backend.kernels import Launch

SELFTEST = r"""
template <typename T>
__global__ void selftest_shuffles(T* out) {
  const int t = threadIdx.x + threadIdx.y * blockDim.x;
  const T v = T(t * 3 + 1);
  const int n = blockDim.x * blockDim.y;
  out[t] = __shfl_xor_sync(0xffffffffu, v, 5);
  out[n + t] = __shfl_down_sync(0xffffffffu, v, 3);
  out[2 * n + t] = __shfl_up_sync(0xffffffffu, v, 2, 8);
  out[3 * n + t] = __shfl_sync(0xffffffffu, v, 7, 16);
}

__global__ void selftest_block_sum(float* out, const float* in) {
  GK_DYNAMIC_SHARED(float, partial);
  const int t = threadIdx.x;
  partial[t] = in[blockIdx.x * blockDim.x + t];
  __syncthreads();
  if (t == 0) {
    float s = 0.0f;
    for (int k = 0; k < (int)blockDim.x; ++k) s += partial[k];
    out[blockIdx.x] = s;
  }
}

__global__ void selftest_unwritten_shared(float* out) {
  GK_DYNAMIC_SHARED(float, scratch);
  out[threadIdx.x] = scratch[threadIdx.x];
}

__global__ void selftest_atomics(double* total) { atomicAdd(total, 1.0); }

__global__ void selftest_divergent(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

__global__ void selftest_early_exit(int* out) {
  if (threadIdx.x == 0) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void selftest_partial_warp(int* out) {
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}
"""
NAMES = ["selftest_shuffles<float>", "selftest_shuffles<double>", "selftest_block_sum",
         "selftest_unwritten_shared", "selftest_atomics", "selftest_divergent",
         "selftest_early_exit", "selftest_partial_warp"]


@pytest.fixture(scope="module")
def selftest(tmp_path_factory):
    if emulator.compiler() is None:
        pytest.skip("g++ not found: the CPU emulation of the CUDA kernels needs it")
    folder = tmp_path_factory.mktemp("selftest")
    source = folder / "selftest.cu"
    source.write_text(SELFTEST)
    lib = emulator.build(folder, {"selftest.cu": source}, names={"selftest.cu": NAMES})
    return emulator.Emulator(lib)


def launch(name, grid, block, args, shared=0):
    return Launch("selftest.cu", name, grid, block, shared, args)


@pytest.mark.parametrize("schedule", list(emulator.SCHEDULES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shuffles_follow_cuda_semantics(selftest, schedule, dtype):
    selftest.set_schedule(schedule)
    n = 64
    out = np.zeros(4 * n, dtype=dtype)
    name = f"selftest_shuffles<{'float' if dtype == np.float32 else 'double'}>"
    selftest.run(launch(name, (1, 1, 1), (32, 2, 1), (out,)))
    t = np.arange(n)
    v = t * 3 + 1
    lane, base = t % 32, t - t % 32
    down = np.where(lane + 3 < 32, v[np.minimum(t + 3, n - 1)], v)
    seg8 = t - t % 8
    up = np.where(t - 2 >= seg8, v[np.maximum(t - 2, 0)], v)
    idx = v[t - t % 16 + 7]
    np.testing.assert_array_equal(out.reshape(4, n), [v[base + (lane ^ 5)], down, up, idx])


@pytest.mark.parametrize("schedule", list(emulator.SCHEDULES))
def test_block_barrier_and_shared_memory(selftest, schedule, rng):
    selftest.set_schedule(schedule)
    values = rng.standard_normal(5 * 96).astype(np.float32)
    out = np.zeros(5, dtype=np.float32)
    selftest.run(launch("selftest_block_sum", (5, 1, 1), (96, 1, 1), (out, values), 96 * 4))
    np.testing.assert_allclose(out, values.reshape(5, 96).sum(axis=1), rtol=1e-5)


def test_unwritten_shared_memory_reads_nan(selftest):
    out = np.zeros(32, dtype=np.float32)
    selftest.run(launch("selftest_unwritten_shared", (1, 1, 1), (32, 1, 1), (out,), 32 * 4))
    assert np.isnan(out).all()


@pytest.mark.parametrize("schedule", ["serial", "threads"])
def test_atomics_count_every_thread(selftest, schedule):
    selftest.set_schedule(schedule)
    total = np.zeros(1)
    selftest.run(launch("selftest_atomics", (3, 2, 1), (64, 2, 1), (total,)))
    assert total[0] == 3 * 2 * 64 * 2


@pytest.mark.parametrize("schedule", ["serial", "threads"])
@pytest.mark.parametrize("name, block, message", [
    ("selftest_divergent", (64, 1, 1), r"divergent block barrier .*selftest\.cu:\d+ and at .*"
                                       r"selftest\.cu:\d+"),
    ("selftest_early_exit", (64, 1, 1), r"divergent block barrier .*(end of block|selftest)"),
    ("selftest_partial_warp", (48, 1, 1), "full mask in a partial warp"),
])
def test_launch_mistakes_are_reported(selftest, schedule, name, block, message):
    selftest.set_schedule(schedule)
    with pytest.raises(emulator.EmulatorError, match=message):
        selftest.run(launch(name, (2, 1, 1), block, (np.zeros(64, dtype=np.int32),)))


@pytest.mark.parametrize("args, message", [
    ((np.zeros(4, dtype=np.float32)[::2],), "not C-contiguous"),
    ((3,), "not an array or a typed NumPy scalar"),
    ((np.int64(3),), r"argument types .* are 'q' but the kernel takes 'p'"),
])
def test_arguments_are_checked_like_a_strict_raw_kernel(selftest, args, message):
    with pytest.raises(emulator.EmulatorError, match=message):
        selftest.run(launch("selftest_atomics", (1, 1, 1), (32, 1, 1), args))


@pytest.mark.parametrize("grid, block, shared, message", [
    ((1, 1, 1), (2048, 1, 1), 0, "invalid block shape"),
    ((1, 70000, 1), (32, 1, 1), 0, "invalid grid shape"),
    ((1, 1, 1), (32, 1, 1), 64 * 1024, "over the 48 KiB"),
])
def test_launch_limits_of_the_hardware_are_enforced(selftest, grid, block, shared, message):
    with pytest.raises(emulator.EmulatorError, match=message):
        selftest.run(launch("selftest_atomics", grid, block, (np.zeros(1),), shared))


def test_every_name_expression_is_registered(emu):
    from gkeras.backend.kernels import NAME_EXPRESSIONS

    assert emu.names() == {n for names in NAME_EXPRESSIONS.values() for n in names}
