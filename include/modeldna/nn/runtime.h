// File: modeldna/nn/runtime.h
// Process-wide torch settings.
#pragma once

namespace modeldna::nn {

/// Sets torch's intra-op threads from $OMP_NUM_THREADS, else from the number
/// of cores (Debian's libtorch starts with one), and keeps OpenBLAS on one
/// thread so the two pools do not fight over the cores. Returns the count used;
/// UsageError for an $OMP_NUM_THREADS that is not a whole number in 1..4096.
int configure_threads();

}  // namespace modeldna::nn
