// modeldna verify-attestation: is this signed attestation ours, unchanged,
// and do the files still have the digests it attests?
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/attest/attestation.h"

namespace modeldna::cli {

void add_attest_commands(CLI::App& app) {
  struct Options {
    std::string envelope, key;
    std::vector<std::string> files;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("verify-attestation",
                                 "Check a signed attestation (from compare or audit --attest): the signature, and that FILES "
                                 "still have their attested SHA-256");
  cmd->add_option("attestation", o->envelope, "The DSSE envelope (.intoto.json)")->required();
  cmd->add_option("files", o->files, "Model files to check against the attested digests");
  cmd->add_option("--key", o->key, "The signer's Ed25519 public key (PEM)")->required()->check(CLI::ExistingFile);
  add_json_flag(cmd, o->json, "Print what was verified as JSON");
  cmd->callback([o] {
    const auto v = attest::verify(o->envelope, o->key);
    attest::check_files(v, o->files);
    if (o->json) {
      nlohmann::json subjects = nlohmann::json::array();
      for (const auto& s : v.subjects) subjects.push_back({{"name", s.name}, {"sha256", s.sha256}});
      return print_json({{"verified", true}, {"predicate_type", v.predicate_type}, {"subjects", subjects},
                         {"files_checked", o->files.size()}});
    }
    std::printf("verified: signed by key %s; predicate %s; %zu subjects; %zu of them checked against the files\n",
                attest::key_id(o->key).c_str(), v.predicate_type.c_str(), v.subjects.size(), o->files.size());
  });
}

}  // namespace modeldna::cli
