// File: modeldna/nn/runtime.h
// Process-wide torch settings.
#pragma once

namespace modeldna::nn {

/// Sets torch's intra-op threads from $OMP_NUM_THREADS, else from the number
/// of cores (Debian's libtorch starts with one), and keeps OpenBLAS on one
/// thread so the two pools do not fight over the cores; keeps freed tensor
/// memory in the process rather than returning it to the system at once (the
/// tests get the same from MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_,
/// cmake/modeldna_module.cmake). Returns the thread count used; UsageError
/// for an $OMP_NUM_THREADS that is not a whole number in 1..4096.
int configure_runtime();

}  // namespace modeldna::nn
