// Signed attestations: DSSE's pre-authentication encoding against the
// specification's own example, envelopes that verify with our code and with
// an independent implementation (python3-securesystemslib, verify_dsse.py),
// and every tampering refused with a clear message: a changed payload, a
// wrong key, a changed file, a file that is no subject. Also end to end
// through `compare --attest` and `audit --attest`.
#include "modeldna/attest/attestation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "test_support.h"

namespace modeldna::attest {
namespace {
namespace fs = std::filesystem;

std::string llama(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/" + name; }
std::string cli() { return MODELDNA_CLI_PATH; }
int status(const testing::ShellResult& r) { return WEXITSTATUS(r.status); }

class Attest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"key", "other"}) {
      const std::string priv = dir_ + "/" + name + ".pem", pub = dir_ + "/" + name + ".pub.pem";
      const auto made = testing::run_shell("openssl genpkey -algorithm ed25519 -out " + priv + " && openssl pkey -in " + priv +
                                           " -pubout -out " + pub + " 2>&1");
      ASSERT_EQ(status(made), 0) << made.output;
    }
  }
  std::string dir_ = testing::fresh_temp_dir();
  std::string key() const { return dir_ + "/key.pem"; }
  std::string pub() const { return dir_ + "/key.pub.pem"; }
  std::string other_pub() const { return dir_ + "/other.pub.pem"; }
  // A copy of a fixture, so the test may change it.
  std::string copy(const std::string& from) {
    const std::string to = dir_ + "/" + fs::path(from).filename().string();
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    return to;
  }
};

TEST(Pae, MatchesTheDsseSpecificationsExample) {
  EXPECT_EQ(pre_authentication_encoding("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST_F(Attest, AnEnvelopeVerifiesAndEveryTamperingIsRefused) {
  const std::string model = copy(llama("base-q4_k_m.gguf"));
  const auto s = statement(subjects_of({model}), kComparePredicate, {{"verdict", "derived"}});
  const std::string envelope = dir_ + "/a.intoto.json";
  write_attestation(envelope, s, key());
  const auto v = verify(envelope, pub());
  EXPECT_EQ(v.predicate_type, kComparePredicate);
  ASSERT_EQ(v.subjects.size(), 1u);
  EXPECT_EQ(v.subjects[0].name, model);
  EXPECT_NO_THROW(check_files(v, {model}));
  EXPECT_EQ(read_json_file(envelope)["signatures"][0]["keyid"], key_id(pub()));

  // The independent implementation agrees.
  const auto python = testing::run_shell("/usr/bin/python3 " + std::string(MODELDNA_SOURCE_DIR) + "/tests/attest/verify_dsse.py " +
                                         envelope + " " + pub() + " 2>&1");
  if (python.output.find("No module named") != std::string::npos) MODELDNA_MISSING("python3-securesystemslib");
  EXPECT_EQ(status(python), 0) << python.output;
  EXPECT_EQ(python.output, "verified application/vnd.in-toto+json 1\n");

  // A changed payload (the verdict rewritten, re-encoded): refused by both.
  auto doc = read_json_file(envelope);
  auto changed = s;
  changed["predicate"]["verdict"] = "independent";
  const std::string payload = changed.dump();
  std::string encoded;
  {
    // base64 by the shell's coreutils, not by the code under test.
    const std::string raw = dir_ + "/payload.json";
    std::ofstream(raw) << payload;
    encoded = testing::run_shell("base64 -w0 " + raw).output;
  }
  doc["payload"] = encoded;
  write_json_file(dir_ + "/changed.intoto.json", doc);
  EXPECT_THROW_MSG(verify(dir_ + "/changed.intoto.json", pub()), FormatError, "no signature verifies");
  EXPECT_NE(status(testing::run_shell("/usr/bin/python3 " + std::string(MODELDNA_SOURCE_DIR) + "/tests/attest/verify_dsse.py " +
                                      dir_ + "/changed.intoto.json " + pub())),
            0);
  // Another key.
  EXPECT_THROW_MSG(verify(envelope, other_pub()), FormatError, "signed with another key");
  // A changed file, and a file that is no subject.
  {
    std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    f.put('\x5a');
  }
  EXPECT_THROW_MSG(check_files(v, {model}), FormatError, "differs from the attested");
  EXPECT_THROW_MSG(check_files(v, {llama("base-q8_0.gguf")}), FormatError, "not a subject of the attestation");
  // Not an envelope at all; a private key where the public one belongs works (it holds it); a non-Ed25519 key does not.
  testing::write_bytes(dir_ + "/junk.json", "{\"payload\": 3}");
  EXPECT_THROW_MSG(verify(dir_ + "/junk.json", pub()), FormatError, "not a DSSE envelope");
  ASSERT_EQ(status(testing::run_shell("openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out " + dir_ + "/rsa.pem 2>&1")), 0);
  EXPECT_THROW_MSG(sign(s, dir_ + "/rsa.pem"), FormatError, "not an Ed25519 key");
}

TEST_F(Attest, CompareAndAuditWriteAttestationsTheCliVerifies) {
  const std::string source = llama("base/model.safetensors"), target = copy(llama("base-q8_0.gguf"));
  const std::string envelope = dir_ + "/compare.intoto.json";
  const auto made = testing::run_shell(cli() + " compare --no-black-box " + source + " " + target + " --attest " + envelope +
                                       " --key " + key() + " 2>&1");
  ASSERT_EQ(status(made), 0) << made.output;
  const auto v = verify(envelope, pub());
  EXPECT_EQ(v.statement["predicate"]["verdict"], "derived");
  EXPECT_EQ(v.subjects.size(), 2u);
  const auto ok = testing::run_shell(cli() + " verify-attestation " + envelope + " --key " + pub() + " " + target + " 2>&1");
  EXPECT_EQ(status(ok), 0) << ok.output;
  EXPECT_NE(ok.output.find("verified: signed by key " + key_id(pub())), std::string::npos) << ok.output;
  const auto wrong = testing::run_shell(cli() + " verify-attestation " + envelope + " --key " + other_pub() + " 2>&1");
  EXPECT_EQ(status(wrong), 1);
  EXPECT_NE(wrong.output.find("modeldna: error: " + envelope + ": no signature verifies"), std::string::npos) << wrong.output;
  // --attest without --key is a flag error.
  EXPECT_EQ(status(testing::run_shell(cli() + " compare " + source + " " + target + " --attest " + envelope + " 2>&1")), 1);

  // audit: the subjects are the audited folders' weight files.
  const std::string folder = dir_ + "/quantized";
  fs::create_directories(folder);
  fs::copy_file(target, folder + "/model-q8_0.gguf");
  std::ofstream(folder + "/README.md") << "---\nbase_model: tiny-llama-base\nbase_model_relation: quantized\n---\n";
  const std::string base = dir_ + "/tiny-llama-base";
  fs::create_directories(base);
  fs::create_symlink(source, base + "/model.safetensors");
  const std::string audit_envelope = dir_ + "/audit.intoto.json";
  const auto audited = testing::run_shell(cli() + " audit --no-black-box " + folder + " --base " + base + " --attest " +
                                          audit_envelope + " --key " + key() + " 2>&1");
  ASSERT_EQ(status(audited), 0) << audited.output;
  const auto a = verify(audit_envelope, pub());
  EXPECT_EQ(a.predicate_type, kAuditPredicate);
  EXPECT_EQ(a.statement["predicate"]["audits"][0]["bases"][0]["finding"], "confirmed");
  ASSERT_EQ(a.subjects.size(), 1u);
  EXPECT_NO_THROW(check_files(a, {folder + "/model-q8_0.gguf"}));
}

}  // namespace
}  // namespace modeldna::attest
