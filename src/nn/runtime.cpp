#include "modeldna/nn/runtime.h"

#include <torch/types.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace modeldna::nn {

int configure_threads() {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    try {
      threads = std::stoi(env);
    } catch (const std::exception&) {
      // An unparsable value falls back to the core count.
    }
  }
  if (threads < 1) threads = 1;
  at::set_num_threads(threads);
  return threads;
}

}  // namespace modeldna::nn
