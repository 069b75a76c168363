// modeldna compare: did TARGET come from SOURCE?
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/attest/attestation.h"
#include "modeldna/compare/compare_files.h"
#include "modeldna/io/open_store.h"
#include "modeldna/report/compare_report.h"
#include "runtime.h"

namespace modeldna::cli {
namespace {

struct CompareCliOptions {
  std::string source, target, report;
  AttestFlags attest;
  compare::CompareFilesOptions files;
  evidence::BehaviourOptions behaviour;
  bool json = false, no_black_box = false;
};

void print_text(const compare::CompareResult& r, double alpha) {
  std::printf("verdict: %s (p = %s at alpha %g; relation: %s; decided by %s)\n",
              std::string(compare::verdict_name(r.verdict)).c_str(), compare::p_value_text(r.log10_p).c_str(), alpha,
              std::string(compare::relation_name(r.relation)).c_str(),
              std::string(compare::decided_by_name(r.decided_by)).c_str());
  std::printf("source: %s (%s)\ntarget: %s (%s)\n", r.source_path.c_str(), r.source_format.c_str(), r.target_path.c_str(),
              r.target_format.c_str());
  std::printf("white-box: %lld layers tested, %lld geometry tests apply, combined p = %s (%s)\n",
              static_cast<long long>(r.tested_layers), static_cast<long long>(r.geometry_tests),
              compare::p_value_text(r.log10_p_white_box).c_str(), r.combination.c_str());
  std::printf("layers:\n");
  for (const auto& l : r.layers) {
    if (!l.source) {
      std::printf("  %-40s new (no source tensor of its shape)\n", l.target.c_str());
      continue;
    }
    std::printf("  %-40s %-12s <- %-32s similarity %6.3f (chance %6.3f) p = %s%s%s\n", l.target.c_str(),
                std::string(compare::layer_verdict_name(l.verdict)).c_str(), l.source->c_str(), l.similarity,
                l.null_similarity, compare::p_value_text(l.log10_p).c_str(),
                (l.test == compare::LayerTest::MatchedUnits ? std::string() : " [" + std::string(compare::layer_test_name(l.test)) + "]")
                    .c_str(),
                l.undone.empty() ? "" : (" [undone: " + compare::undone_list(l.undone) + "]").c_str());
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
                r.black_box.log10_p ? (", p = " + compare::p_value_text(*r.black_box.log10_p)).c_str() : " (no calibrated p-value)");
  for (const auto& note : r.notes) std::printf("note: %s\n", note.get<std::string>().c_str());
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareCliOptions>();
  auto* cmd = app.add_subcommand("compare", "Did TARGET come from SOURCE? Verdict, calibrated p-value, relation and layer map");
  cmd->add_option("source", o->source, "The candidate parent: any model file modeldna reads")->required();
  cmd->add_option("target", o->target, "The model in question")->required();
  add_json_flag(cmd, o->json, "Print the result as JSON (docs/spec/compare-v2.md)");
  cmd->add_option("--alpha", o->files.weights.alpha, "Level of the verdict (default 0.01)");
  cmd->add_option("--seed", o->files.weights.seed, "Seed of the unit sample (the same in both models) and of the probes");
  cmd->add_option("--reference", o->files.references,
                  "A model trained independently of SOURCE on its task (repeatable): calibrates the black-box "
                  "evidence (3 or more give it a p-value)");
  cmd->add_option("--probes", o->behaviour.probes, "Probes for the black-box evidence (x3: clean, noisy, CutMix)");
  cmd->add_option("--tokenizer", o->behaviour.tokenizer, "Text models: the tokenizer.model their ids come from");
  cmd->add_flag("--no-black-box", o->no_black_box, "Weights only, even when both models can run");
  cmd->add_option("--report", o->report, "Also write a self-contained HTML evidence report here");
  add_attest_flags(cmd, o->attest);
  cmd->callback([o] {
    o->files.black_box = !o->no_black_box;
    const auto behaviour = runtime().behaviour(o->behaviour);
    const auto result = compare::compare_files(o->source, o->target, o->files, behaviour.get());
    if (!o->report.empty()) report::write_compare_report(o->report, result, o->files.weights.alpha);
    if (o->attest.wanted()) {
      // The subjects: every file of both models (shards and external data included).
      const auto source = io::open_store(o->source), target = io::open_store(o->target);
      std::vector<std::string> files = source.files();
      files.insert(files.end(), target.files().begin(), target.files().end());
      attest::write_attestation(o->attest.out, attest::statement(attest::subjects_of(files), attest::kComparePredicate, compare::to_json(result)),
                                o->attest.key);
    }
    if (o->json) return print_json(compare::to_json(result));
    print_text(result, o->files.weights.alpha);
  });
}

}  // namespace modeldna::cli
