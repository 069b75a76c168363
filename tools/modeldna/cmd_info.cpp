// modeldna tasks | archs
#include <cstdio>
#include <memory>

#include "commands.h"
#include "modeldna/data/task.h"
#include "modeldna/nn/network.h"

namespace modeldna::cli {

void add_info_commands(CLI::App& app) {
  app.add_subcommand("tasks", "List the tasks models are trained on")->callback([] {
    for (const auto& t : data::list_tasks())
      std::printf("%-20s %-5s %s\n", t.name.c_str(), t.modality.c_str(), t.description.c_str());
  });
  app.add_subcommand("archs", "List the architectures")->callback([] {
    for (const auto& [name, description] : nn::architectures())
      std::printf("%-16s %s\n", name.c_str(), description.c_str());
  });
}

}  // namespace modeldna::cli
