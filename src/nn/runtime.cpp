#include "modeldna/nn/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "modeldna/core/error.h"

namespace modeldna::nn {
namespace {

// OpenBLAS (Debian's libopenblas0-pthread) starts its own thread per core.
// Called from inside torch's intra-op pool, the two pools oversubscribe the
// cores and spin against each other: on 2 cores the tiny image zoo took
// 34.9 s with both pools and 14.8 s with OpenBLAS on one thread (BENCHMARKS.md).
// Looked up at run time: another BLAS behind libblas.so.3 has no such call.
void single_threaded_blas() {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
}

// glibc hands blocks above a sliding threshold (128 KiB at first) to mmap
// and gives them back on free, so every activation of a language model's
// forward pass was fresh pages: a quarter of its time went to page faults,
// and 896 prompts through the 12-block fixture Llama took 8.0 s instead of
// 1.9 s (tests/nn/language_model_test.cpp's model, BENCHMARKS.md). Blocks up
// to glibc's largest threshold (32 MiB on 64-bit) now come from the heap,
// which keeps up to 512 MiB freed at its top for the next batch. The image
// and text zoos, whose tensors are small, build in the same time either way.
constexpr int kHeapBlocksUpTo = 32 << 20;
constexpr int kFreedHeapKept = 512 << 20;

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, kHeapBlocksUpTo);
  mallopt(M_TRIM_THRESHOLD, kFreedHeapKept);
}

}  // namespace

int configure_runtime() {
  keep_freed_memory();
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    // A value the user set and we cannot honour is refused, not ignored.
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || errno == ERANGE || n < 1 || n > 4096)
      throw UsageError(std::string("OMP_NUM_THREADS='") + env + "': expected a whole number of threads from 1 to 4096");
    threads = static_cast<int>(n);
  }
  if (threads < 1) threads = 1;
  single_threaded_blas();
  at::set_num_threads(threads);
  return threads;
}

}  // namespace modeldna::nn
