#include "modeldna/attest/attestation.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cctype>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <memory>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/core/sha256.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::attest {
namespace {

// An envelope holds a statement naming files and a result: kilobytes to a
// few megabytes for an audit of many folders. Larger is refused unread.
constexpr uintmax_t kMaxEnvelopeBytes = 64ull << 20;
constexpr uintmax_t kMaxKeyBytes = 64ull << 10;
constexpr std::size_t kEd25519SignatureBytes = 64;

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// Reads an Ed25519 key from a PEM file: the private key, or with `public_key`
// the public one (a private key file also gives its public key).
Key read_key(const std::string& path, bool public_key) {
  const std::string pem = read_file(path, kMaxKeyBytes, "a key file");
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* key = public_key ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!key) {
    Bio again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    key = PEM_read_bio_PrivateKey(again.get(), nullptr, nullptr, nullptr);
  }
  if (!key)
    throw FormatError(path, public_key ? "not a PEM public key (expected `openssl pkey -pubout` output)"
                                       : "not a PEM private key (expected `openssl genpkey -algorithm ed25519` output)");
  Key owned(key, EVP_PKEY_free);
  if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) throw FormatError(path, "not an Ed25519 key (attestations are signed with Ed25519)");
  return owned;
}

std::string raw_public_key(const Key& key) {
  std::size_t n = 32;
  std::string raw(n, '\0');
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()), &n) != 1 || n != 32)
    throw InternalError("Ed25519 public key of unexpected size");
  return raw;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Standard base64 with padding (DSSE's encoding); nullopt for anything else.
std::optional<std::string> unbase64(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  for (std::size_t k = text.size(); k > 0 && text[k - 1] == '=' && padding < 2; --k) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string sha256_of(const std::string& bytes) { return sha256_hex(bytes.data(), bytes.size()); }

const nlohmann::json& field(const std::string& path, const nlohmann::json& object, const char* name, nlohmann::json::value_t type) {
  const auto it = object.find(name);
  if (it == object.end() || it->type() != type)
    throw FormatError(path, std::string("not a DSSE envelope of an in-toto statement: '") + name + "' is missing or of the wrong type");
  return *it;
}

}  // namespace

std::vector<Subject> subjects_of(const std::vector<std::string>& files) {
  std::vector<Subject> out;
  for (const auto& f : files) out.push_back({f, io::file_sha256(f)});
  return out;
}

nlohmann::json statement(const std::vector<Subject>& subjects, const std::string& predicate_type, const nlohmann::json& predicate) {
  nlohmann::json s = nlohmann::json::array();
  for (const auto& subject : subjects) s.push_back({{"name", subject.name}, {"digest", {{"sha256", subject.sha256}}}});
  return {{"_type", kStatementType}, {"subject", s}, {"predicateType", predicate_type}, {"predicate", predicate}};
}

std::string pre_authentication_encoding(const std::string& type, const std::string& payload) {
  return "DSSEv1 " + std::to_string(type.size()) + " " + type + " " + std::to_string(payload.size()) + " " + payload;
}

std::string key_id(const std::string& pem) { return sha256_of(raw_public_key(read_key(pem, true))); }

nlohmann::json sign(const nlohmann::json& statement, const std::string& private_key_pem) {
  const Key key = read_key(private_key_pem, false);
  const std::string payload = statement.dump();
  const std::string message = pre_authentication_encoding(kPayloadType, payload);
  DigestContext ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string signature(kEd25519SignatureBytes, '\0');
  std::size_t length = signature.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    throw InternalError("Ed25519 signing failed");
  return {{"payloadType", kPayloadType},
          {"payload", base64(payload)},
          {"signatures", {{{"keyid", sha256_of(raw_public_key(key))}, {"sig", base64(signature.substr(0, length))}}}}};
}

void write_attestation(const std::string& path, const nlohmann::json& statement, const std::string& private_key_pem) {
  write_json_file(path, sign(statement, private_key_pem));
}

Verified verify(const std::string& path, const std::string& public_key_pem) {
  const Key key = read_key(public_key_pem, true);
  const auto envelope = read_json_file(path, JsonLimits{kMaxEnvelopeBytes, 64});
  if (!envelope.is_object()) throw FormatError(path, "not a DSSE envelope (not a JSON object)");
  const auto& type = field(path, envelope, "payloadType", nlohmann::json::value_t::string).get<std::string>();
  if (type != kPayloadType) throw FormatError(path, "payloadType is '" + type + "', not " + kPayloadType);
  const auto payload = unbase64(field(path, envelope, "payload", nlohmann::json::value_t::string).get<std::string>());
  if (!payload) throw FormatError(path, "the payload is not base64");
  const std::string message = pre_authentication_encoding(type, *payload);
  bool verified = false;
  for (const auto& s : field(path, envelope, "signatures", nlohmann::json::value_t::array)) {
    if (!s.is_object() || !s.contains("sig") || !s["sig"].is_string()) continue;
    const auto sig = unbase64(s["sig"].get<std::string>());
    if (!sig || sig->size() != kEd25519SignatureBytes) continue;
    DigestContext ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    verified = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
               EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                                reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    if (verified) break;
  }
  if (!verified)
    throw FormatError(path, "no signature verifies with the public key " + public_key_pem +
                                " (the payload was changed, or it was signed with another key)");
  Verified v;
  v.statement = parse_json(path, *payload);
  if (!v.statement.is_object() || v.statement.value("_type", "") != kStatementType)
    throw FormatError(path, std::string("the signed payload is not an in-toto statement (_type is not ") + kStatementType + ")");
  v.predicate_type = v.statement.value("predicateType", "");
  for (const auto& s : field(path, v.statement, "subject", nlohmann::json::value_t::array)) {
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string() || !s.contains("digest") || !s["digest"].is_object() ||
        !s["digest"].contains("sha256") || !s["digest"]["sha256"].is_string())
      throw FormatError(path, "a subject has no name or no sha256 digest");
    v.subjects.push_back({s["name"].get<std::string>(), s["digest"]["sha256"].get<std::string>()});
  }
  return v;
}

void check_files(const Verified& verified, const std::vector<std::string>& files) {
  namespace fs = std::filesystem;
  for (const auto& file : files) {
    const Subject* match = nullptr;
    for (const auto& s : verified.subjects)
      if (s.name == file) match = &s;
    if (!match)
      for (const auto& s : verified.subjects)
        if (fs::path(s.name).filename() == fs::path(file).filename()) match = &s;
    if (!match) throw FormatError(file, "not a subject of the attestation");
    const std::string digest = io::file_sha256(file);
    if (digest != match->sha256)
      throw FormatError(file, "SHA-256 " + digest + " differs from the attested " + match->sha256 + " (the file changed)");
  }
}

}  // namespace modeldna::attest
