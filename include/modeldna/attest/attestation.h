// File: modeldna/attest/attestation.h
// Signed attestations of modeldna's results: an in-toto Statement v1
// (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
// whose subjects are model files with their SHA-256 and whose predicate is
// a compare or audit result (docs/spec/attestation-v1.md), in a DSSE
// envelope (https://github.com/secure-systems-lab/dsse) signed with Ed25519
// (OpenSSL). Verification checks the signature over DSSE's pre-authentication
// encoding, then that files still have their attested digests. Torch-free.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modeldna::attest {

inline constexpr const char* kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr const char* kPayloadType = "application/vnd.in-toto+json";
/// Our predicate types (docs/spec/attestation-v1.md).
inline constexpr const char* kComparePredicate = "https://modeldna.dev/attestation/compare/v1";
inline constexpr const char* kAuditPredicate = "https://modeldna.dev/attestation/audit/v1";

struct Subject {
  std::string name;    // the file as named on the command line
  std::string sha256;  // 64 lower-case hex digits
};

/// Subjects for files, hashed now.
std::vector<Subject> subjects_of(const std::vector<std::string>& files);

nlohmann::json statement(const std::vector<Subject>& subjects, const std::string& predicate_type, const nlohmann::json& predicate);

/// DSSE's PAE: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths
/// as ASCII decimal.
std::string pre_authentication_encoding(const std::string& payload_type, const std::string& payload);

/// The statement in a DSSE envelope signed with the Ed25519 private key in
/// `private_key_pem` (a file; PKCS#8 PEM as `openssl genpkey -algorithm
/// ed25519` writes). FormatError naming the key file when it is not one.
nlohmann::json sign(const nlohmann::json& statement, const std::string& private_key_pem);

/// Writes sign(statement, key) to `path` atomically.
void write_attestation(const std::string& path, const nlohmann::json& statement, const std::string& private_key_pem);

/// The key id we write: the SHA-256 of the raw 32-byte public key, hex.
std::string key_id(const std::string& public_or_private_key_pem);

struct Verified {
  nlohmann::json statement;
  std::string predicate_type;
  std::vector<Subject> subjects;
};

/// Reads the envelope at `path` (bounded), checks it is a DSSE envelope of
/// an in-toto statement and that one of its signatures verifies with the
/// Ed25519 public key in `public_key_pem`. FormatError naming `path` for a
/// malformed envelope, a changed payload or a wrong key.
Verified verify(const std::string& path, const std::string& public_key_pem);

/// That each of `files` is a subject of `verified` (by its name as given,
/// else by file name) and still has the attested digest. FormatError naming
/// the file otherwise.
void check_files(const Verified& verified, const std::vector<std::string>& files);

}  // namespace modeldna::attest
