#include "modeldna/audit/cyclonedx.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>

#include "ascii.h"

namespace modeldna::audit {
namespace {

// SPDX identifiers the hub's model cards use, in the SPDX list's spelling
// (the schema's enum is case-sensitive). Others are named, not identified.
constexpr std::array kSpdxIds{
    "Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "ISC", "CC0-1.0", "CC-BY-2.0",
    "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC-BY-NC-2.0", "CC-BY-NC-3.0", "CC-BY-NC-4.0",
    "CC-BY-NC-SA-2.0", "CC-BY-NC-SA-3.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-3.0", "CC-BY-NC-ND-4.0", "CC-BY-ND-4.0",
    "GPL-2.0", "GPL-3.0", "LGPL-2.1", "LGPL-3.0", "AGPL-3.0", "MPL-2.0", "Unlicense", "WTFPL", "Zlib", "BSL-1.0",
    "Artistic-2.0", "EPL-2.0", "ECL-2.0", "AFL-3.0", "OSL-3.0", "PDDL-1.0", "ODC-By-1.0", "OpenRAIL", "EUPL-1.2"};

using detail::ascii_lower;

std::string uuid4() {
  std::random_device rd;
  std::array<unsigned char, 16> b{};
  for (auto& x : b) x = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

nlohmann::json property(const std::string& name, const std::string& value) { return {{"name", name}, {"value", value}}; }

nlohmann::json evidence_properties(const Evidence& e, const std::string& finding) {
  return nlohmann::json::array({property("modeldna:finding", finding),
                                property("modeldna:verdict", std::string(compare::verdict_name(e.verdict))),
                                property("modeldna:p_value", compare::p_value_text(e.log10_p)),
                                property("modeldna:log10_p", std::to_string(e.log10_p)),
                                property("modeldna:relation", std::string(compare::relation_name(e.relation))),
                                property("modeldna:layers_from_ancestor",
                                         std::to_string(e.layers_from_source) + " of " + std::to_string(e.layers)),
                                property("modeldna:compared_file", e.source)});
}

nlohmann::json ancestor(const std::string& name, const std::string& finding, const std::optional<Evidence>& e,
                        const std::string& reason) {
  nlohmann::json a = {{"type", "machine-learning-model"}, {"name", name}};
  a["properties"] = e ? evidence_properties(*e, finding) : nlohmann::json::array({property("modeldna:finding", finding)});
  a["properties"].push_back(property("modeldna:reason", reason));
  return a;
}

nlohmann::json component(const AuditResult& r) {
  nlohmann::json c = {{"type", "machine-learning-model"}, {"bom-ref", "model:" + r.folder}, {"name", r.name}};
  nlohmann::json files = nlohmann::json::array();
  for (const auto& w : r.weights)
    files.push_back({{"type", "file"},
                     {"bom-ref", "file:" + w.path},
                     {"name", std::filesystem::path(w.path).filename().string()},
                     {"hashes", {{{"alg", "SHA-256"}, {"content", w.sha256}}}}});
  if (!files.empty()) c["components"] = files;
  if (r.declared.license) c["licenses"] = nlohmann::json::array({cyclonedx_license(*r.declared.license)});
  nlohmann::json card = {{"bom-ref", "model-card:" + r.folder}};
  if (!r.architectures.empty()) card["modelParameters"] = {{"modelArchitecture", r.architectures.front()}};
  nlohmann::json props = nlohmann::json::array();
  for (const auto& b : r.declared.base_models) props.push_back(property("huggingface:base_model", b));
  if (r.declared.base_model_relation)
    props.push_back(property("huggingface:base_model_relation", std::string(declared_relation_name(*r.declared.base_model_relation))));
  if (r.relation.declared)
    props.push_back(property("modeldna:declared_relation", r.relation.contradicted ? "contradicted: " + r.relation.reason : "consistent"));
  if (r.license.permissive_over_restrictive)
    props.push_back(property("modeldna:license", "a permissive license declared over a restrictive ancestor"));
  if (!props.empty()) card["properties"] = props;
  c["modelCard"] = card;
  // The verified lineage: confirmed bases and undeclared parents.
  nlohmann::json ancestors = nlohmann::json::array();
  nlohmann::json refuted = nlohmann::json::array();
  for (const auto& b : r.bases) {
    if (b.finding == Finding::Confirmed) ancestors.push_back(ancestor(b.declared, "confirmed", b.evidence, b.reason));
    else refuted.push_back(property("modeldna:" + std::string(finding_name(b.finding)) + "_base", b.declared + ": " + b.reason));
  }
  for (const auto& u : r.undeclared) ancestors.push_back(ancestor(u.name, "undeclared parent", u.evidence, u.path));
  if (!ancestors.empty()) c["pedigree"] = {{"ancestors", ancestors}};
  if (!refuted.empty()) c["properties"] = refuted;
  return c;
}

}  // namespace

nlohmann::json cyclonedx_license(const std::string& declared) {
  for (const char* id : kSpdxIds)
    if (ascii_lower(id) == ascii_lower(declared)) return {{"license", {{"id", id}}}};
  return {{"license", {{"name", declared}}}};
}

nlohmann::json cyclonedx_bom(const std::vector<AuditResult>& results) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& r : results) components.push_back(component(r));
  return {{"bomFormat", "CycloneDX"},
          {"specVersion", "1.6"},
          {"serialNumber", "urn:uuid:" + uuid4()},
          {"version", 1},
          {"metadata",
           {{"timestamp", utc_now()},
            {"tools", {{"components", {{{"type", "application"}, {"name", "modeldna"}, {"version", "0.1.0"}}}}}}}},
          {"components", components}};
}

}  // namespace modeldna::audit
