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
