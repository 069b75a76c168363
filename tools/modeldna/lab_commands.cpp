#include "lab_commands.h"

#include <utility>

#include "modeldna/core/error.h"
#include "runtime.h"

namespace modeldna::cli {

const char* lab_command_description(const std::string& name) {
  static const std::pair<const char*, const char*> kLabCommands[] = {
      {"zoo", "Build or show a zoo of models with recorded lineage"},
      {"tasks", "List the tasks models are trained on"},
      {"archs", "List the architectures"},
      {"train", "Train an MGMP detector (DNA generator + provenance classifier) on a zoo"},
      {"dna", "Write a model's DNA on the detector's recorded probes"},
      {"verify", "Did TARGET come from SOURCE? Verdict, probability and its uncertainty"},
      {"eval", "Measure an MGMP detector on a zoo's held-out targets and sources"},
      {"bench", "Score every (source, candidate) pair of a zoo with every detector"},
  };
  for (const auto& [command, description] : kLabCommands)
    if (name == command) return description;
  throw InternalError("no lab command '" + name + "'");
}

void add_lab_placeholder(CLI::App& app, const std::string& name) {
  auto* cmd = app.add_subcommand(name, lab_command_description(name));
  // Nothing is parsed here: modeldna-lab parses (and prints --help).
  cmd->set_help_flag();
  cmd->allow_extras();
  cmd->prefix_command();
  cmd->callback([] { runtime().hand_over(); });
}

}  // namespace modeldna::cli
