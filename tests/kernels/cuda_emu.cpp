// cuda_emu.cpp: the runtime of the CPU CUDA emulator (see cuda_emu.h) and its C ABI for ctypes.
#include "cuda_emu.h"

#include <ucontext.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace emu {

thread_local ThreadCtx* tl_self = nullptr;

namespace {

struct Abort {};  // unwinds an emulated thread once its launch has failed

enum State { RUNNABLE, WAITING, DONE };

// A rendezvous of `size` threads (a block or a warp). All must arrive at the same site.
struct Group {
  int size = 0;
  int arrived = 0;
  Site site{nullptr, 0};
  unsigned long long generation = 0;
  std::mutex mutex;              // threads mode
  std::condition_variable cv;    // threads mode
  std::vector<int> waiters;      // serial mode
};

constexpr std::size_t kFiberStack = 256 * 1024;
constexpr auto kDeadlockTimeout = std::chrono::seconds(60);

bool g_serial = true;
bool g_reverse = false;
std::mutex g_launch_mutex;

std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> entries;
  return entries;
}

std::string where(Site site) {
  return std::string(site.file ? site.file : "?") + ":" + std::to_string(site.line);
}

}  // namespace

struct LaunchState {
  dim3 grid, block;
  int nthreads = 0;
  long long nblocks = 0;
  bool serial = true;
  bool reverse = false;
  std::size_t smem_bytes = 0;
  unsigned char* smem = nullptr;
  Group block_group;
  std::unique_ptr<Group[]> warp_groups;
  std::vector<std::uint64_t> slots;
  std::vector<ThreadCtx> ctxs;
  const Entry* entry = nullptr;
  void** params = nullptr;
  std::atomic<bool> aborted{false};
  std::mutex error_mutex;
  std::string error;
  // serial mode
  std::vector<ucontext_t> contexts;
  std::vector<State> states;
  std::vector<std::unique_ptr<char[]>> stacks;
  ucontext_t scheduler;
};

namespace {

void poison_shared(LaunchState& L) {
  if (L.smem_bytes) std::memset(L.smem, 0xff, L.smem_bytes);  // NaN in float and double
}

void record_failure(LaunchState& L, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(L.error_mutex);
    if (L.error.empty()) L.error = message;
  }
  L.aborted = true;
  if (!L.serial) {  // wake every waiter so it sees the abort
    auto wake = [](Group& g) {
      std::lock_guard<std::mutex> lock(g.mutex);
      g.cv.notify_all();
    };
    wake(L.block_group);
    for (int w = 0; w < (L.nthreads + 31) / 32; ++w) wake(L.warp_groups[w]);
  }
}

std::string block_name(const ThreadCtx& t) {
  return "block (" + std::to_string(t.block_idx.x) + "," + std::to_string(t.block_idx.y) + "," +
         std::to_string(t.block_idx.z) + ")";
}

void arrive(Group& g, Site site, bool is_block) {
  LaunchState& L = *tl_self->launch;
  if (L.aborted) throw Abort{};
  const char* scope = is_block ? "block barrier" : "warp barrier";
  if (L.serial) {
    if (g.arrived > 0 && (g.site.line != site.line || std::strcmp(g.site.file, site.file) != 0)) {
      fail(std::string("divergent ") + scope + " in " + block_name(*tl_self) + ": threads wait at " +
           where(g.site) + " and at " + where(site));
    }
    if (g.arrived == 0) g.site = site;
    const int me = tl_self->linear;
    g.waiters.push_back(me);
    L.states[me] = WAITING;
    if (++g.arrived == g.size) {
      for (int w : g.waiters) L.states[w] = RUNNABLE;
      g.waiters.clear();
      g.arrived = 0;
      if (is_block && site.line < 0) poison_shared(L);
    }
    swapcontext(&L.contexts[me], &L.scheduler);
    if (L.aborted) throw Abort{};
    return;
  }
  std::unique_lock<std::mutex> lock(g.mutex);
  if (g.arrived > 0 && (g.site.line != site.line || std::strcmp(g.site.file, site.file) != 0)) {
    const std::string message = std::string("divergent ") + scope + " in " +
                                block_name(*tl_self) + ": threads wait at " + where(g.site) +
                                " and at " + where(site);
    lock.unlock();
    fail(message);
  }
  if (g.arrived == 0) g.site = site;
  const unsigned long long generation = g.generation;
  if (++g.arrived == g.size) {
    g.arrived = 0;
    ++g.generation;
    if (is_block && site.line < 0) poison_shared(L);
    g.cv.notify_all();
    return;
  }
  const bool released = g.cv.wait_for(lock, kDeadlockTimeout, [&] {
    return g.generation != generation || L.aborted.load();
  });
  if (L.aborted) throw Abort{};
  if (!released) {
    lock.unlock();
    fail("deadlock: threads of " + block_name(*tl_self) + " waited 60 s at " + where(site));
  }
}

const Site kBlockEnd{"<end of block>", -1};

void run_thread(LaunchState& L, int t) {
  ThreadCtx& self = L.ctxs[t];
  tl_self = &self;
  try {
    for (long long b = 0; b < L.nblocks; ++b) {
      const long long id = L.reverse ? L.nblocks - 1 - b : b;
      self.block_idx = dim3(static_cast<unsigned>(id % L.grid.x),
                            static_cast<unsigned>((id / L.grid.x) % L.grid.y),
                            static_cast<unsigned>(id / (static_cast<long long>(L.grid.x) *
                                                        L.grid.y)));
      L.entry->invoke(L.params);
      arrive(L.block_group, kBlockEnd, true);  // all threads leave a block before the next
    }
  } catch (const Abort&) {
  } catch (const std::exception& exc) {
    record_failure(L, std::string("exception in a kernel thread: ") + exc.what());
  }
}

thread_local LaunchState* tl_fiber_launch = nullptr;

void fiber_entry(int t) {
  LaunchState& L = *tl_fiber_launch;
  run_thread(L, t);
  L.states[t] = DONE;  // returning resumes the scheduler through uc_link
}

void run_serial(LaunchState& L) {
  const int n = L.nthreads;
  L.contexts.resize(n);
  L.states.assign(n, RUNNABLE);
  L.stacks.resize(n);
  tl_fiber_launch = &L;
  for (int t = 0; t < n; ++t) {
    L.stacks[t].reset(new char[kFiberStack]);
    getcontext(&L.contexts[t]);
    L.contexts[t].uc_stack.ss_sp = L.stacks[t].get();
    L.contexts[t].uc_stack.ss_size = kFiberStack;
    L.contexts[t].uc_link = &L.scheduler;
    makecontext(&L.contexts[t], reinterpret_cast<void (*)()>(fiber_entry), 1, t);
  }
  while (!L.aborted) {
    // Greedy: always resume the first runnable thread in the chosen order.
    int pick = -1;
    bool all_done = true;
    for (int k = 0; k < n; ++k) {
      const int t = L.reverse ? n - 1 - k : k;
      if (L.states[t] != DONE) all_done = false;
      if (L.states[t] == RUNNABLE) {
        pick = t;
        break;
      }
    }
    if (pick < 0) {
      if (!all_done) record_failure(L, "deadlock: no emulated thread can run (a barrier is never "
                                       "reached by all threads of its block or warp)");
      break;
    }
    tl_self = &L.ctxs[pick];
    swapcontext(&L.scheduler, &L.contexts[pick]);
  }
  tl_self = nullptr;
  tl_fiber_launch = nullptr;
}

void run_threads(LaunchState& L) {
  std::vector<std::thread> threads;
  threads.reserve(L.nthreads);
  for (int t = 0; t < L.nthreads; ++t) threads.emplace_back(run_thread, std::ref(L), t);
  for (auto& thread : threads) thread.join();
}

std::string launch(const std::string& name, const std::string& signature, dim3 grid, dim3 block,
                   long long smem_bytes, void** params) {
  auto found = registry().find(name);
  if (found == registry().end()) return "no kernel named " + name + " in the emulator library";
  const Entry& entry = found->second;
  if (signature != entry.signature) {
    return "argument types of " + name + " are '" + signature + "' but the kernel takes '" +
           entry.signature + "' (p pointer, i int32, q int64, f float32, d float64)";
  }
  const long long threads = static_cast<long long>(block.x) * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0 || threads > 1024 || block.z > 64) {
    return "invalid block shape for " + name + " (at most 1024 threads, z <= 64)";
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
    return "invalid grid shape for " + name + " (y and z at most 65535)";
  }
  if (smem_bytes < 0 || smem_bytes > 48 * 1024) {
    return "dynamic shared memory of " + std::to_string(smem_bytes) + " bytes for " + name +
           " is over the 48 KiB a launch gets without opting in";
  }
  LaunchState L;
  L.grid = grid;
  L.block = block;
  L.nthreads = static_cast<int>(threads);
  L.nblocks = static_cast<long long>(grid.x) * grid.y * grid.z;
  L.serial = g_serial;
  L.reverse = g_reverse;
  L.smem_bytes = static_cast<std::size_t>(smem_bytes);
  // Exactly the requested size, so AddressSanitizer sees an overrun of shared memory.
  std::unique_ptr<unsigned char[]> smem(new unsigned char[L.smem_bytes ? L.smem_bytes : 1]);
  L.smem = smem.get();
  poison_shared(L);
  L.block_group.size = L.nthreads;
  const int warps = (L.nthreads + 31) / 32;
  L.warp_groups.reset(new Group[warps]);
  for (int w = 0; w < warps; ++w) L.warp_groups[w].size = std::min(32, L.nthreads - 32 * w);
  L.slots.assign(static_cast<std::size_t>(warps) * 32, 0);
  L.ctxs.resize(L.nthreads);
  for (int t = 0; t < L.nthreads; ++t) {
    ThreadCtx& c = L.ctxs[t];
    c.thread_idx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
    c.block_dim = block;
    c.grid_dim = grid;
    c.linear = t;
    c.launch = &L;
  }
  L.entry = &entry;
  L.params = params;
  if (L.serial) {
    run_serial(L);
  } else {
    run_threads(L);
  }
  return L.error;
}

}  // namespace

void block_barrier(Site site) { arrive(tl_self->launch->block_group, site, true); }

void warp_barrier(Site site) {
  arrive(tl_self->launch->warp_groups[tl_self->linear / 32], site, false);
}

std::uint64_t* warp_slots() { return &tl_self->launch->slots[(tl_self->linear / 32) * 32]; }

void check_full_warp(unsigned mask, const char* what) {
  const LaunchState& L = *tl_self->launch;
  if (mask != 0xffffffffu) fail(std::string(what) + ": the emulator supports full masks only");
  if (L.warp_groups[tl_self->linear / 32].size != 32) {
    fail(std::string(what) + " with a full mask in a partial warp (block of " +
         std::to_string(L.nthreads) + " threads)");
  }
}

void* dynamic_shared() { return tl_self->launch->smem; }

void fail(const std::string& message) {
  record_failure(*tl_self->launch, message);
  throw Abort{};
}

bool register_kernel(const char* name, Entry entry) {
  registry()[name] = std::move(entry);
  return true;
}

}  // namespace emu

extern "C" {

// serial != 0: deterministic fibers; reverse != 0: threads and blocks in reverse order.
void emu_set_mode(int serial, int reverse) {
  std::lock_guard<std::mutex> lock(emu::g_launch_mutex);
  emu::g_serial = serial != 0;
  emu::g_reverse = reverse != 0;
}

int emu_kernel_count() { return static_cast<int>(emu::registry().size()); }

const char* emu_kernel_name(int index) {
  auto it = emu::registry().begin();
  std::advance(it, index);
  return it->first.c_str();
}

// Runs one kernel; returns 0, or 1 with the reason in `error`.
int emu_launch(const char* name, const char* signature, const unsigned* grid,
               const unsigned* block, long long smem_bytes, void** params, char* error,
               int error_len) {
  std::lock_guard<std::mutex> lock(emu::g_launch_mutex);
  std::string message;
  try {
    message = emu::launch(name, signature, dim3(grid[0], grid[1], grid[2]),
                          dim3(block[0], block[1], block[2]), smem_bytes, params);
  } catch (const std::exception& exc) {
    message = std::string("emulator failure: ") + exc.what();
  }
  if (message.empty()) return 0;
  std::snprintf(error, static_cast<std::size_t>(error_len), "%s", message.c_str());
  return 1;
}

}  // extern "C"
