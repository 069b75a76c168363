// modeldna compare: did TARGET come from SOURCE?
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/compare/compare.h"
#include "modeldna/evidence/behaviour.h"
#include "modeldna/io/open_store.h"
#include "modeldna/nn/model_file.h"
#include "modeldna/report/compare_report.h"

namespace modeldna::cli {
namespace {

struct CompareCliOptions {
  std::string source, target, report;
  std::vector<std::string> references;
  compare::CompareOptions compare;
  evidence::BehaviourOptions behaviour;
  bool json = false, no_black_box = false;
};

std::string p_text(double log10_p) {
  if (log10_p > -4) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", std::pow(10.0, log10_p));
    return buffer;
  }
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "1e%.1f", log10_p);
  return buffer;
}

void print_text(const compare::CompareResult& r, double alpha) {
  std::printf("verdict: %s (p = %s at alpha %g; relation: %s; decided by %s)\n",
              std::string(compare::verdict_name(r.verdict)).c_str(), p_text(r.log10_p).c_str(), alpha,
              std::string(compare::relation_name(r.relation)).c_str(), r.decided_by.c_str());
  std::printf("source: %s (%s)\ntarget: %s (%s)\n", r.source_path.c_str(), r.source_format.c_str(), r.target_path.c_str(),
              r.target_format.c_str());
  std::printf("white-box: %lld layers tested, combined p = %s (%s)\n", static_cast<long long>(r.tested_layers),
              p_text(r.log10_p_white_box).c_str(), r.combination.c_str());
  std::printf("layers:\n");
  for (const auto& l : r.layers) {
    if (!l.source) {
      std::printf("  %-40s new (no source tensor of its shape)\n", l.target.c_str());
      continue;
    }
    std::printf("  %-40s %-12s <- %-32s similarity %6.3f (chance %6.3f) p = %s%s\n", l.target.c_str(),
                std::string(compare::layer_verdict_name(l.verdict)).c_str(), l.source->c_str(), l.similarity,
                l.null_similarity, p_text(l.log10_p).c_str(), l.permuted ? " [units relabelled]" : "");
  }
  if (!r.excluded.empty()) {
    std::printf("left out (%zu tensors):\n", r.excluded.size());
    std::size_t shown = 0;
    for (const auto& e : r.excluded) {
      if (e.reason == compare::Exclusion::Integer || e.reason == compare::Exclusion::NotLearned ||
          e.reason == compare::Exclusion::Vector)
        continue;
      if (++shown > 20) break;
      std::printf("  %s %s: %s (%s)\n", e.model.c_str(), e.name.c_str(), std::string(compare::exclusion_name(e.reason)).c_str(),
                  e.detail.c_str());
    }
  }
  if (r.black_box.available)
    std::printf("black-box: score %.3f%s\n", r.black_box.score,
                r.black_box.log10_p ? (", p = " + p_text(*r.black_box.log10_p)).c_str() : " (no calibrated p-value)");
  for (const auto& note : r.notes) std::printf("note: %s\n", note.get<std::string>().c_str());
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareCliOptions>();
  auto* cmd = app.add_subcommand("compare", "Did TARGET come from SOURCE? Verdict, calibrated p-value, relation and layer map");
  cmd->add_option("source", o->source, "The candidate parent: any model file modeldna reads")->required();
  cmd->add_option("target", o->target, "The model in question")->required();
  add_json_flag(cmd, o->json, "Print the result as JSON (docs/spec/compare-v1.md)");
  cmd->add_option("--alpha", o->compare.alpha, "Level of the verdict (default 0.01)");
  cmd->add_option("--seed", o->compare.seed, "Seed of the unit sample (the same in both models) and of the probes");
  cmd->add_option("--reference", o->references,
                  "A model trained independently of SOURCE on its task (repeatable): calibrates the black-box "
                  "evidence (3 or more give it a p-value)");
  cmd->add_option("--probes", o->behaviour.probes, "Probes for the black-box evidence (x3: clean, noisy, CutMix)");
  cmd->add_option("--tokenizer", o->behaviour.tokenizer, "Text models: the tokenizer.model their ids come from");
  cmd->add_flag("--no-black-box", o->no_black_box, "Weights only, even when both models can run");
  cmd->add_option("--report", o->report, "Also write a self-contained HTML evidence report here");
  cmd->callback([o] {
    const auto start = std::chrono::steady_clock::now();
    const auto source = std::make_shared<io::TensorStore>(io::open_store(o->source));
    const auto target = std::make_shared<io::TensorStore>(io::open_store(o->target));
    const double read_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    auto result = compare::compare_weights(*source, *target, o->compare);
    result.timings["open_ms"] = read_ms;
    if (!o->no_black_box && nn::runnable_arch(*source) && nn::runnable_arch(*target)) {
      const auto black_box_start = std::chrono::steady_clock::now();
      o->behaviour.seed = o->compare.seed;
      std::vector<nn::LoadedModel> references;
      for (const auto& path : o->references) references.push_back(nn::load_model(path));
      compare::fuse(result, evidence::run_behaviour(nn::load_model(source), nn::load_model(target), references, o->behaviour),
                    o->compare);
      result.timings["black_box_ms"] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - black_box_start).count();
    } else {
      compare::BlackBoxEvidence none;
      none.reason = o->no_black_box ? "turned off (--no-black-box)"
                                    : "needs both models to be runnable (a modeldna model of a built-in architecture)";
      compare::fuse(result, none, o->compare);
    }
    result.timings["total_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!o->report.empty()) report::write_compare_report(o->report, result, o->compare.alpha);
    if (o->json) return print_json(compare::to_json(result));
    print_text(result, o->compare.alpha);
  });
}

}  // namespace modeldna::cli
