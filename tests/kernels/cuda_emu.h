// cuda_emu.h: runs the unmodified kernels/*.cu sources on the CPU, for the tests only.
//
// Include this header, then a .cu file, and compile with g++ -std=c++20 (cuda_emu.cpp holds the
// runtime). Every CUDA thread of a block is a separate execution context with its own
// threadIdx/blockIdx; the blocks of a grid run one after another, so dynamic shared memory is one
// buffer per launch, poisoned with NaN bytes before every block (reading it before writing shows).
//
// Two schedules (emu_set_mode in cuda_emu.cpp):
// - threads: one std::thread per CUDA thread, barriers are mutex/condition-variable rendezvous.
//   Real interleaving; under ThreadSanitizer a missing __syncthreads is a reported data race.
// - serial: one ucontext fiber per CUDA thread on the calling thread, switched only at barriers and
//   shuffles, always resuming the first runnable thread in a fixed order (forward or reverse).
//   Deterministic and adversarial: the leading thread runs as far ahead as the barriers allow, so
//   a missing barrier reads poison or stale data on every run.
// Both check that all threads of a block (or warp) meet at the same barrier: a barrier in divergent
// code, a full-mask shuffle in a partial warp or a deadlock fail the launch with a message.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1)
      : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;

namespace emu {

struct LaunchState;  // defined in cuda_emu.cpp

struct ThreadCtx {
  dim3 thread_idx;
  dim3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  int linear = 0;  // x + y * bx + z * bx * by
  LaunchState* launch = nullptr;
};

extern thread_local ThreadCtx* tl_self;

// A barrier site: the file and line of the call, so divergent barriers can be named.
struct Site {
  const char* file;
  int line;
};

void block_barrier(Site site);
void warp_barrier(Site site);
std::uint64_t* warp_slots();  // the 32 exchange slots of the calling thread's warp
void check_full_warp(unsigned mask, const char* what);
void* dynamic_shared();
[[noreturn]] void fail(const std::string& message);

template <typename T>
inline T shuffle_from(unsigned mask, T value, int src_lane, Site site) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value,
                "the emulator shuffles values of at most 8 bytes");
  check_full_warp(mask, "__shfl_*_sync");
  std::uint64_t* slots = warp_slots();
  const int lane = tl_self->linear % 32;
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  slots[lane] = bits;
  warp_barrier(site);  // every lane has published its value
  const std::uint64_t got = slots[src_lane];
  warp_barrier(site);  // every lane has read before the slots are reused
  T out;
  std::memcpy(&out, &got, sizeof(T));
  return out;
}

inline int shuffle_width(int width) {
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0) {
    fail("shuffle width must be a power of two <= 32, got " + std::to_string(width));
  }
  return width;
}

}  // namespace emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __restrict__ __restrict
// Static shared arrays would be one per process; the kernels use dynamic shared memory only.
#define __shared__ static_assert(false, "use GK_DYNAMIC_SHARED, not __shared__");
#define GK_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(emu::dynamic_shared())

#define threadIdx (emu::tl_self->thread_idx)
#define blockIdx (emu::tl_self->block_idx)
#define blockDim (emu::tl_self->block_dim)
#define gridDim (emu::tl_self->grid_dim)

#define __syncthreads() emu::block_barrier(emu::Site{__FILE__, __LINE__})
#define __syncwarp(...) emu::gk_syncwarp(emu::Site{__FILE__, __LINE__} __VA_OPT__(, ) __VA_ARGS__)
#define __shfl_sync(...) emu::gk_shfl(emu::Site{__FILE__, __LINE__}, __VA_ARGS__)
#define __shfl_xor_sync(...) emu::gk_shfl_xor(emu::Site{__FILE__, __LINE__}, __VA_ARGS__)
#define __shfl_down_sync(...) emu::gk_shfl_down(emu::Site{__FILE__, __LINE__}, __VA_ARGS__)
#define __shfl_up_sync(...) emu::gk_shfl_up(emu::Site{__FILE__, __LINE__}, __VA_ARGS__)

namespace emu {

inline void gk_syncwarp(Site site, unsigned mask = 0xffffffffu) {
  check_full_warp(mask, "__syncwarp");
  warp_barrier(site);
}

inline int lane_id() { return tl_self->linear % 32; }

template <typename T>
inline T gk_shfl(Site site, unsigned mask, T var, int src_lane, int width = 32) {
  width = shuffle_width(width);
  const int base = lane_id() - lane_id() % width;
  return shuffle_from(mask, var, base + ((src_lane % width) + width) % width, site);
}

template <typename T>
inline T gk_shfl_xor(Site site, unsigned mask, T var, int lane_mask, int width = 32) {
  width = shuffle_width(width);
  const int base = lane_id() - lane_id() % width;
  int src = lane_id() ^ lane_mask;
  if (src < base || src >= base + width) src = lane_id();
  return shuffle_from(mask, var, src, site);
}

template <typename T>
inline T gk_shfl_down(Site site, unsigned mask, T var, unsigned delta, int width = 32) {
  width = shuffle_width(width);
  const int base = lane_id() - lane_id() % width;
  int src = lane_id() + static_cast<int>(delta);
  if (src >= base + width) src = lane_id();
  return shuffle_from(mask, var, src, site);
}

template <typename T>
inline T gk_shfl_up(Site site, unsigned mask, T var, unsigned delta, int width = 32) {
  width = shuffle_width(width);
  const int base = lane_id() - lane_id() % width;
  int src = lane_id() - static_cast<int>(delta);
  if (src < base) src = lane_id();
  return shuffle_from(mask, var, src, site);
}

}  // namespace emu

template <typename T>
inline T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}

inline float __int_as_float(int v) {
  float f;
  std::memcpy(&f, &v, sizeof f);
  return f;
}
inline int __float_as_int(float v) {
  int i;
  std::memcpy(&i, &v, sizeof i);
  return i;
}
inline double __longlong_as_double(long long v) {
  double d;
  std::memcpy(&d, &v, sizeof d);
  return d;
}
inline long long __double_as_longlong(double v) {
  long long i;
  std::memcpy(&i, &v, sizeof i);
  return i;
}

// ------------------------------------------------------------------ kernel registration
#include <functional>
#include <utility>

namespace emu {

template <typename T> struct ArgCode;  // no specialisation: a parameter type the tests cannot pass
template <typename T> struct ArgCode<T*> { static constexpr char value = 'p'; };
template <> struct ArgCode<int> { static constexpr char value = 'i'; };
template <> struct ArgCode<long long> { static constexpr char value = 'q'; };
template <> struct ArgCode<float> { static constexpr char value = 'f'; };
template <> struct ArgCode<double> { static constexpr char value = 'd'; };

struct Entry {
  std::string signature;  // one ArgCode per parameter
  std::function<void(void**)> invoke;  // cuLaunchKernel-style: params[i] points at argument i
};

template <typename... A, std::size_t... I>
inline void invoke_packed(void (*kernel)(A...), void** params, std::index_sequence<I...>) {
  kernel(*static_cast<std::remove_cv_t<A>*>(params[I])...);
}

template <typename... A>
inline Entry make_entry(void (*kernel)(A...)) {
  Entry entry;
  entry.signature = std::string{ArgCode<std::remove_cv_t<A>>::value...};
  entry.invoke = [kernel](void** params) {
    invoke_packed(kernel, params, std::index_sequence_for<A...>{});
  };
  return entry;
}

bool register_kernel(const char* name, Entry entry);

}  // namespace emu
