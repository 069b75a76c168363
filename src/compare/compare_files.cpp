#include "modeldna/compare/compare_files.h"

#include <chrono>

#include "modeldna/core/stopwatch.h"
#include "modeldna/io/open_store.h"

namespace modeldna::compare {
namespace {



// Why no behavioural evidence is taken, or "" when it is.
std::string why_no_black_box(const io::TensorStore& source, const io::TensorStore& target,
                             const CompareFilesOptions& o, const Behaviour* behaviour) {
  if (!o.black_box) return "turned off (weights only)";
  if (!behaviour) return "no model runner in this build of the call (weights only)";
  if (!behaviour->can_run(source) || !behaviour->can_run(target))
    return "needs both models to be runnable (a modeldna model of a built-in architecture)";
  return "";
}

}  // namespace

CompareResult compare_stores(const StorePtr& source, const StorePtr& target, const std::vector<StorePtr>& references,
                             const CompareFilesOptions& o, Behaviour* behaviour) {
  const auto start = Clock::now();
  auto result = compare_weights(*source, *target, o.weights);
  const auto why_not = why_no_black_box(*source, *target, o, behaviour);
  if (!why_not.empty()) {
    BlackBoxEvidence none;
    none.reason = why_not;
    fuse(result, none, o.weights);
  } else {
    const auto black_box_start = Clock::now();
    fuse(result, behaviour->evidence(source, target, references, o.weights.seed), o.weights);
    result.timings["black_box_ms"] = ms_since(black_box_start);
  }
  result.timings["compare_ms"] = ms_since(start);
  return result;
}

CompareResult compare_files(const std::string& source_path, const std::string& target_path,
                            const CompareFilesOptions& o, Behaviour* behaviour) {
  const auto start = Clock::now();
  const StorePtr source = std::make_shared<io::TensorStore>(io::open_store(source_path));
  const StorePtr target = std::make_shared<io::TensorStore>(io::open_store(target_path));
  std::vector<StorePtr> references;
  for (const auto& path : o.references) references.push_back(std::make_shared<io::TensorStore>(io::open_store(path)));
  const double open_ms = ms_since(start);
  auto result = compare_stores(source, target, references, o, behaviour);
  result.timings["open_ms"] = open_ms;
  result.timings["total_ms"] = ms_since(start);
  return result;
}

}  // namespace modeldna::compare
