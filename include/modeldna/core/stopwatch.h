// File: modeldna/core/stopwatch.h
// Milliseconds since a point in time, for the timings results report.
#pragma once

#include <chrono>

namespace modeldna {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace modeldna
