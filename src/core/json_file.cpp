#include "modeldna/core/json_file.h"

#include <unistd.h>

#include <atomic>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>
#include <sstream>

#include "modeldna/core/error.h"

namespace modeldna {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw FormatError(path, "read error");
  return buffer.str();
}

std::string read_file(const std::string& path, uintmax_t max_bytes, const std::string& what) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw FormatError(path, "cannot open file (" + ec.message() + ")");
  if (size > max_bytes)
    throw FormatError(path, "file is " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) +
                                "-byte limit for " + what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open file");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) throw FormatError(path, "read error (file changed?)");
  return bytes;
}

nlohmann::json parse_json(const std::string& path, std::string_view text, const JsonLimits& limits) {
  using nlohmann::json;
  if (text.size() > limits.max_bytes)
    throw FormatError(path, "JSON is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                                std::to_string(limits.max_bytes));
  std::vector<std::set<std::string>> keys;  // one set per open object
  int depth = 0;
  auto check = [&](int, json::parse_event_t event, json& parsed) {
    using Event = json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start) {
      if (++depth > limits.max_depth)
        throw FormatError(path, "JSON nests deeper than " + std::to_string(limits.max_depth) + " levels");
      if (event == Event::object_start) keys.emplace_back();
    } else if (event == Event::object_end || event == Event::array_end) {
      --depth;
      if (event == Event::object_end) keys.pop_back();
    } else if (event == Event::key && !keys.back().insert(parsed.get_ref<const std::string&>()).second) {
      std::string key = parsed.get_ref<const std::string&>().substr(0, 80);
      for (char& c : key)
        if (static_cast<unsigned char>(c) < 0x20) c = '?';
      throw FormatError(path, "duplicate JSON key '" + key + "'");
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers too large
    throw FormatError(path, std::string("invalid JSON: ") + e.what());
  }
}

nlohmann::json read_json_file(const std::string& path, const JsonLimits& limits) {
  return parse_json(path, read_file(path, limits.max_bytes, "a JSON file"), limits);
}

void make_directories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw UsageError(dir + ": cannot create the folder (" + ec.message() + ")");
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.has_parent_path()) make_directories(target.parent_path().string());
  // One temporary name per writer: two processes (registry add on one
  // server registry) or threads (audit --jobs) saving the same file must not
  // write into one temporary file; the last rename wins, whole.
  static std::atomic<uint64_t> writes{0};
  const std::string tmp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(writes++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw FormatError(path, "cannot open for writing");
    write(out);
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp);
      throw FormatError(path, "write failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(tmp, ec);
    throw FormatError(path, "cannot rename temporary file: " + reason);
  }
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

void write_json_file(const std::string& path, const nlohmann::json& doc) {
  write_file_atomically(path, doc.dump(2) + "\n");
}

}  // namespace modeldna
