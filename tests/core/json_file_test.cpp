#include "modeldna/core/json_file.h"

#include "modeldna/core/error.h"
#include "test_support.h"

namespace modeldna {
namespace {

TEST(JsonFile, RoundTrips) {
  const std::string path = testing::fresh_temp_dir() + "/doc.json";
  write_json_file(path, {{"a", 1}, {"b", {1, 2}}});
  EXPECT_EQ(read_json_file(path)["b"][1], 2);
}

TEST(JsonFile, MissingFileNamesThePath) {
  EXPECT_THROW_MSG(read_json_file("/nonexistent/x.json"), FormatError, "/nonexistent/x.json: cannot open");
}

TEST(JsonFile, InvalidJsonNamesThePath) {
  const std::string path = testing::fresh_temp_dir() + "/bad.json";
  testing::write_bytes(path, "{\"a\": ");
  EXPECT_THROW_MSG(read_json_file(path), FormatError, "bad.json: invalid JSON");
}

}  // namespace
}  // namespace modeldna

#include <thread>

namespace modeldna {
namespace {

// Two writers saving one file at once (threads of audit --jobs, processes
// sharing a registry's index cache): each write lands whole, the file holds
// one of them, and no temporary file is left.
TEST(JsonFile, ConcurrentAtomicWritesLandWhole) {
  const std::string path = testing::fresh_temp_dir() + "/shared.bin";
  const std::string a(200000, 'a'), b(300000, 'b');
  auto writer = [&](const std::string& bytes) {
    for (int k = 0; k < 50; ++k) write_file_atomically(path, bytes);
  };
  std::thread first(writer, a), second(writer, b);
  first.join();
  second.join();
  const auto got = read_file(path);
  EXPECT_TRUE(got == a || got == b) << got.size() << " bytes";
  EXPECT_FALSE(testing::temporary_left_beside(path));
}

}  // namespace
}  // namespace modeldna
