// modeldna tasks | archs | inspect
#include <cstdio>
#include <memory>

#include "commands.h"
#include "modeldna/data/task.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/nn/model_file.h"

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

  auto path = std::make_shared<std::string>();
  auto* inspect = app.add_subcommand("inspect", "Validate a model file and list its layers and tensors");
  inspect->add_option("model", *path, "A modeldna .safetensors model")->required();
  inspect->callback([path] {
    const auto model = nn::load_model(*path);  // validates everything
    const auto file = io::SafetensorsFile::open(*path);
    for (const auto& [k, v] : model.metadata) std::printf("%s: %s\n", k.c_str(), v.c_str());
    std::printf("parameters: %lld\nlayers:", static_cast<long long>(model.network->parameter_count()));
    for (const auto& layer : model.network->layer_names()) std::printf(" %s", layer.c_str());
    std::printf("\n");
    for (const auto& t : file.tensors()) {
      std::printf("  %-40s %-4s [", t.name.c_str(), std::string(io::dtype_name(t.dtype)).c_str());
      for (size_t i = 0; i < t.shape.size(); ++i) std::printf("%s%lld", i ? ", " : "", static_cast<long long>(t.shape[i]));
      std::printf("]\n");
    }
  });
}

}  // namespace modeldna::cli
