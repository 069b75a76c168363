// modeldna tasks | archs
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "lab_commands.h"
#include "modeldna/data/task.h"
#include "modeldna/nn/network.h"

namespace modeldna::cli {

void add_info_commands(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* tasks = app.add_subcommand("tasks", lab_command_description("tasks"));
  add_json_flag(tasks, *json);
  tasks->callback([json] {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : data::list_tasks()) {
      if (*json)
        out.push_back({{"name", t.name}, {"modality", std::string(data::modality_name(t.modality))}, {"classes", t.num_classes}, {"description", t.description}});
      else
        std::printf("%-20s %-5s %s\n", t.name.c_str(), std::string(data::modality_name(t.modality)).c_str(), t.description.c_str());
    }
    if (*json) print_json(out);
  });
  auto* archs = app.add_subcommand("archs", lab_command_description("archs"));
  add_json_flag(archs, *json);
  archs->callback([json] {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, description] : nn::architectures()) {
      if (*json) out.push_back({{"name", name}, {"description", description}});
      else std::printf("%-16s %s\n", name.c_str(), description.c_str());
    }
    if (*json) print_json(out);
  });
}

}  // namespace modeldna::cli
