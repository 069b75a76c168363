// The registry on small synthetic models written as real safetensors files:
// the fingerprint's encoding (round trip, every truncation and hostile
// header refused), the SQLite database (idempotent adds, persistence,
// removal, refusals), Holm's correction by hand, and `find` and the tree on
// a source, its children and unrelated models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/convert.h"
#include "modeldna/io/open_store.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/lineage/tree.h"
#include "modeldna/registry/family_tree.h"
#include "modeldna/registry/find_file.h"
#include "modeldna/registry/registry.h"
#include "synthetic_models.h"
#include "test_support.h"

namespace modeldna::registry {
namespace {

Fingerprint fingerprint_of(const std::string& path) { return fingerprint_store(io::open_store(path)); }

// How much of donor A's head the other donor's head carries (below). It was
// 0.3 while heads were tested over their rows; tested over their inputs
// (docs/compare.md) the same mix reached p = 10^-5.6, past the premise's
// upper bound, so it was lowered to 0.2 (0.15 holds too; the premise is
// asserted in the test, so a value outside it fails rather than passes).
constexpr float kHeadMix = 0.2f;

class RegistryFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::fresh_temp_dir(); }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  // Registers `source` and `count` unrelated models (seeds from `first_seed`,
  // files unrelated-<seed>); returns the source's fingerprint.
  Fingerprint add_source_and_strangers(Registry& reg, const Tensors& source, uint64_t first_seed, int count) const {
    const auto source_fp = fingerprint_of(write_model(file("source.safetensors"), source));
    reg.add(source_fp);
    for (uint64_t s = first_seed; s < first_seed + static_cast<uint64_t>(count); ++s)
      reg.add(fingerprint_of(write_model(file("unrelated-" + std::to_string(s) + ".safetensors"), random_model(s))));
    return source_fp;
  }
  std::string dir_;
};

TEST_F(RegistryFiles, AFingerprintSurvivesEncodingAndIsSmall) {
  const auto fp = fingerprint_of(write_model(file("m.safetensors"), random_model(1)));
  const auto bytes = encode(fp);
  EXPECT_LT(bytes.size(), 64u * 1024);
  const auto back = decode(bytes, "test");
  EXPECT_EQ(back.content_hash, fp.content_hash);
  EXPECT_EQ(back.path, fp.path);
  EXPECT_EQ(back.format, fp.format);
  EXPECT_EQ(back.parameters, 64 * 48 + 64 + 64 * 64 + 64 + 48 * 64 + 48 + 10 * 48 + 10);
  EXPECT_EQ(back.tensor_hashes, fp.tensor_hashes);
  EXPECT_EQ(back.tensors_hash, fp.tensors_hash);
  EXPECT_EQ(back.shape_signature, fp.shape_signature);
  ASSERT_EQ(back.sketch.tensors.size(), fp.sketch.tensors.size());
  ASSERT_FALSE(fp.sketch.tensors.empty());
  for (std::size_t t = 0; t < fp.sketch.tensors.size(); ++t) {
    const auto& a = fp.sketch.tensors[t];
    const auto& b = back.sketch.tensors[t];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.dims, b.dims);
    ASSERT_EQ(a.values().size(), b.values().size());
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < a.values().size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(a.values()[i]) - b.values()[i]));
      scale = std::max(scale, std::abs(static_cast<double>(a.values()[i])));
    }
    EXPECT_LT(worst, 1e-3 * scale) << a.name;  // float16, scaled per tensor
  }
  EXPECT_EQ(encode(back), bytes);  // decoding loses nothing the encoding kept
}

TEST_F(RegistryFiles, EveryTruncationAndAHostileHeaderAreRefused) {
  const auto bytes = encode(fingerprint_of(write_model(file("m.safetensors"), random_model(2))));
  for (std::size_t n = 0; n < bytes.size(); n += n < 256 ? 1 : 97)
    EXPECT_THROW_MSG(decode(bytes.substr(0, n), "registry #7"), FormatError, "registry #7: ");
  std::string bad = bytes;
  bad[0] ^= 0x20;
  EXPECT_THROW_MSG(decode(bad, "registry #7"), FormatError, "bad magic");
  bad = bytes;
  bad[8] = 9;  // the version, little-endian after the 8-byte magic
  EXPECT_THROW_MSG(decode(bad, "registry #7"), FormatError, "fingerprint version 9");
  EXPECT_THROW_MSG(decode(bytes + "tail", "registry #7"), FormatError, "payload");
  // The binary header (offset 16, after magic, version and its length H)
  // opens with the path's u32 length: one past the header is refused.
  bad = bytes;
  bad[16] = bad[17] = bad[18] = bad[19] = '\xff';
  EXPECT_THROW_MSG(decode(bad, "registry #7"), FormatError, "truncated in the path");
  bad = bytes;
  uint32_t header_bytes = 0;  // H, little-endian at offset 12
  for (int i = 0; i < 4; ++i) header_bytes |= static_cast<uint32_t>(static_cast<unsigned char>(bad[12 + i])) << (8 * i);
  ++header_bytes;  // one byte longer: the header ends in a byte no field reads
  for (int i = 0; i < 4; ++i) bad[12 + i] = static_cast<char>((header_bytes >> (8 * i)) & 0xff);
  EXPECT_THROW_MSG(decode(bad, "registry #7"), FormatError, "1 bytes after its last field");
  EXPECT_THROW_MSG(decode(std::string(kMaxFingerprintBytes + 1, 'x'), "registry #7"), FormatError, "more than");
}

TEST(Fingerprint, TheCommittedFuzzSeedsDecode) {
  // tests/registry/fixtures: kept in step with the encoding (scripts/fuzz.sh seeds).
  for (const char* name : {"lenet-s0.fingerprint", "lenet-s0-int8.fingerprint"}) {
    const std::string path = std::string(MODELDNA_SOURCE_DIR) + "/tests/registry/fixtures/" + name;
    const auto fp = decode(read_file(path), path);
    EXPECT_EQ(fp.version, kFingerprintVersion) << name;
    EXPECT_EQ(fp.architecture, "lenet") << name;
    EXPECT_FALSE(fp.sketch.tensors.empty()) << name;
    EXPECT_TRUE(fp.outputs.has_value()) << name;
    EXPECT_EQ(encode(fp), read_file(path)) << name;
  }
}

TEST(Fingerprint, OlderVersionsAreRefusedWithTheWayOut) {
  // Written by earlier builds (tests/registry/fixtures/README.md): their
  // sketches follow the file's tensor order, which version 3 replaced by the
  // model's structure, so they could pair the wrong layers. Refused, saying
  // how to rebuild them.
  for (const auto& [name, version] : std::vector<std::pair<std::string, int>>{
           {"lenet-s0.v1.fingerprint", 1}, {"lenet-s0-int8.v1.fingerprint", 1},
           {"lenet-s0.v2.fingerprint", 2}, {"lenet-s0-int8.v2.fingerprint", 2}}) {
    const std::string path = std::string(MODELDNA_SOURCE_DIR) + "/tests/registry/fixtures/" + name;
    EXPECT_THROW_MSG(decode(read_file(path), "registry model 7"), FormatError,
                     "registry model 7: fingerprint version " + std::to_string(version) +
                         " sketched the layers in the file's order; this build pairs them by their place in the model "
                         "(version 4): remove the model and add its file again");
  }
  // Version 3 (tests/registry/fixtures/README.md): llama.cpp's names as stored.
  for (const char* name : {"lenet-s0.v3.fingerprint", "lenet-s0-int8.v3.fingerprint"}) {
    const std::string path = std::string(MODELDNA_SOURCE_DIR) + "/tests/registry/fixtures/" + name;
    EXPECT_THROW_MSG(decode(read_file(path), "registry model 7"), FormatError,
                     "registry model 7: fingerprint version 3 sketched llama.cpp's GGUF tensors under their stored "
                     "names and row order; this build sketches them as Hugging Face names and orders them (version 4): "
                     "remove the model and add its file again");
  }
}

TEST_F(RegistryFiles, RenamedTensorsShareTheTensorsHashNotTheContentHash) {
  const auto weights = random_model(3);
  const auto a = fingerprint_of(write_model(file("a.safetensors"), weights));
  const auto b = fingerprint_of(write_model(file("b.safetensors"), weights, "model."));
  EXPECT_NE(a.content_hash, b.content_hash);
  EXPECT_EQ(a.tensors_hash, b.tensors_hash);
  EXPECT_NE(a.tensors_hash, fingerprint_of(write_model(file("c.safetensors"), random_model(4))).tensors_hash);
}

TEST_F(RegistryFiles, SqliteAddsAreIdempotentPersistAndCanBeRemoved) {
  const std::string db = file("team.sqlite");
  const auto fp = fingerprint_of(write_model(file("m.safetensors"), random_model(5)));
  int64_t id = 0;
  {
    Registry reg(db);
    const auto first = reg.add(fp);
    EXPECT_TRUE(first.added);
    const auto again = reg.add(fp);
    EXPECT_FALSE(again.added);
    EXPECT_EQ(again.id, first.id);
    id = first.id;
    reg.add(fingerprint_of(write_model(file("other.safetensors"), random_model(6))));
    EXPECT_EQ(reg.list().size(), 2u);
  }
  Registry reg(db);  // reopened: nothing lost
  ASSERT_EQ(reg.list().size(), 2u);
  for (const std::string& key : {std::to_string(id), fp.path, fp.content_hash}) {
    const auto shown = reg.show(key);
    ASSERT_TRUE(shown) << key;
    EXPECT_EQ(shown->content_hash, fp.content_hash);
    EXPECT_EQ(shown->sketch.tensors.size(), fp.sketch.tensors.size());
  }
  EXPECT_FALSE(reg.show("no-such-model"));
  EXPECT_EQ(reg.remove(fp.path), 1);
  EXPECT_EQ(reg.remove(fp.path), 0);
  EXPECT_EQ(reg.list().size(), 1u);
  EXPECT_FALSE(reg.show(std::to_string(id)));
}

TEST_F(RegistryFiles, AFileThatIsNotARegistryIsRefusedAndKept) {
  const std::string path = file("notes.sqlite");
  testing::write_bytes(path, "these are my notes, not a database\n");
  EXPECT_THROW_MSG(Registry{path}, FormatError, path + ": ");
  EXPECT_EQ(read_file(path), "these are my notes, not a database\n");
}

TEST(Holm, StepDownByHand) {
  // p = 1e-5, 0.004, 0.03 among 10 models at alpha 0.05:
  // 10 x 1e-5 = 1e-4; max(1e-4, 9 x 0.004 = 0.036); max(0.036, 8 x 0.03 = 0.24).
  std::vector<Candidate> c(3);
  c[0].log10_p = std::log10(0.03);
  c[1].log10_p = -5;
  c[2].log10_p = std::log10(0.004);
  apply_holm(c, 10, 0.05);
  EXPECT_NEAR(c[0].log10_p_adjusted, -4, 1e-12);
  EXPECT_NEAR(c[1].log10_p_adjusted, std::log10(0.036), 1e-12);
  EXPECT_NEAR(c[2].log10_p_adjusted, std::log10(0.24), 1e-12);
  EXPECT_TRUE(c[0].significant);
  EXPECT_TRUE(c[1].significant);
  EXPECT_FALSE(c[2].significant);
  // Adjusted p-values are capped at 1.
  std::vector<Candidate> d(1);
  d[0].log10_p = std::log10(0.5);
  apply_holm(d, 100, 0.05);
  EXPECT_EQ(d[0].log10_p_adjusted, 0.0);
}

TEST_F(RegistryFiles, FindNamesTheParentAndNoParentForAnUnrelatedModel) {
  const auto source = random_model(10);
  Registry reg(file("r.sqlite"));
  const auto source_fp = add_source_and_strangers(reg, source, 11, 5);

  const auto child = reg.find(fingerprint_of(write_model(file("child.safetensors"), perturbed(source, 20, 0.3f))), {});
  ASSERT_TRUE(child.parent) << to_json(child).dump(1);
  EXPECT_EQ(child.parent->model.path, source_fp.path);
  EXPECT_TRUE(child.parent->significant);
  EXPECT_LT(child.parent->log10_p_adjusted, -10);
  EXPECT_EQ(child.registry_models, 6);
  for (const auto& c : child.candidates)
    if (c.model.path != source_fp.path) { EXPECT_FALSE(c.significant) << c.model.path; }

  const auto stranger = reg.find(fingerprint_of(write_model(file("stranger.safetensors"), random_model(30))), {});
  EXPECT_FALSE(stranger.parent);
  for (const auto& c : stranger.candidates) EXPECT_FALSE(c.significant) << c.model.path;

  const auto itself = reg.find(source_fp, {});
  ASSERT_TRUE(itself.same_file);
  EXPECT_EQ(itself.same_file->path, source_fp.path);
  EXPECT_EQ(itself.registry_models, 5);  // the query's own file is not a hypothesis

  // The correction's N follows removals through this registry, and counts a
  // model another process added after the index was opened once a query
  // proposes it (here through the shape bucket, which holds every model).
  EXPECT_EQ(reg.remove(file("unrelated-11.safetensors")), 1);
  EXPECT_EQ(reg.find(fingerprint_of(write_model(file("child-2.safetensors"), perturbed(source, 21, 0.3f))), {}).registry_models, 5);
  const auto late = fingerprint_of(write_model(file("child-3.safetensors"), perturbed(source, 22, 0.3f)));
  Registry(file("r.sqlite")).add(late);
  const auto found_late = reg.find(source_fp, {});
  EXPECT_EQ(found_late.registry_models, 5);  // 4 unrelated and the late child; the source is the query itself
  ASSERT_FALSE(found_late.candidates.empty());
  EXPECT_EQ(found_late.candidates.front().model.path, late.path);
  EXPECT_TRUE(found_late.candidates.front().significant);
}

TEST_F(RegistryFiles, FindTestsTheIndexsFartherHalfOnlyWhenTheCloserHalfHoldsARelative) {
  const auto source = random_model(40);
  Registry reg(file("r.sqlite"));
  const auto source_fp = add_source_and_strangers(reg, source, 41, 6);
  FindOptions o;
  o.neighbours = 4;
  o.bucket_scan = 0;  // every model shares one shape: only the index proposes

  const auto stranger = reg.find(fingerprint_of(write_model(file("stranger.safetensors"), random_model(50))), o);
  EXPECT_FALSE(stranger.parent);
  EXPECT_EQ(stranger.tested, 2) << to_json(stranger).dump(1);
  EXPECT_NE(stranger.notes.dump().find("2 farther proposals were not tested"), std::string::npos) << stranger.notes.dump();
  EXPECT_EQ(stranger.registry_models, 7);  // the untested count in the correction all the same

  const auto child = reg.find(fingerprint_of(write_model(file("child.safetensors"), perturbed(source, 51, 0.3f))), o);
  ASSERT_TRUE(child.parent) << to_json(child).dump(1);
  EXPECT_EQ(child.parent->model.path, source_fp.path);
  EXPECT_EQ(child.tested, 4);
  EXPECT_EQ(child.notes.dump().find("not tested"), std::string::npos) << child.notes.dump();
}

// tree's library call, over files and over a registry of the same files:
// the same forest (both test the stored float16 sketches).
TEST_F(RegistryFiles, TheTreeLinksChildrenToTheirSourceAndLeavesStrangersAsRoots) {
  const auto source = random_model(40);
  std::vector<std::string> paths{write_model(file("source.safetensors"), source)};
  for (uint64_t s = 41; s < 44; ++s)
    paths.push_back(write_model(file("child-" + std::to_string(s) + ".safetensors"), perturbed(source, s, 0.3f)));
  paths.push_back(write_model(file("stranger-a.safetensors"), random_model(50)));
  paths.push_back(write_model(file("stranger-b.safetensors"), random_model(51)));
  StoreFingerprinter weights_only;
  const auto of_files = family_tree_of_files(paths, {}, weights_only);
  EXPECT_EQ(of_files.paths, paths);
  ASSERT_EQ(of_files.tree.edges.size(), 3u);
  for (const auto& e : of_files.tree.edges) EXPECT_EQ(e.parent, 0u) << "child " << e.child;
  EXPECT_EQ(of_files.tree.roots, (std::vector<std::size_t>{0, 4, 5}));

  Registry reg(file("tree.sqlite"));
  for (const auto& path : paths) reg.add(weights_only.fingerprint(path));
  const auto of_registry = family_tree_of_registry(reg, {});
  EXPECT_EQ(of_registry.paths, paths);
  ASSERT_EQ(of_registry.tree.edges.size(), of_files.tree.edges.size());
  for (std::size_t k = 0; k < of_files.tree.edges.size(); ++k) {
    EXPECT_EQ(of_registry.tree.edges[k].parent, of_files.tree.edges[k].parent);
    EXPECT_EQ(of_registry.tree.edges[k].child, of_files.tree.edges[k].child);
    EXPECT_DOUBLE_EQ(of_registry.tree.edges[k].log10_p, of_files.tree.edges[k].log10_p);
  }
}

// find's library call from a file: the parent, and the timings of the whole.
// With weights only, a query that shares no tensor shape gets a note, not a
// behavioural guess.
TEST_F(RegistryFiles, FindFileFingerprintsTheFileAndNamesItsParent) {
  const auto source = random_model(70);
  Registry reg(file("find.sqlite"));
  const auto source_fp = add_source_and_strangers(reg, source, 71, 3);
  StoreFingerprinter weights_only;
  const auto child = find_file(reg, write_model(file("child.safetensors"), perturbed(source, 90, 0.3f)), {}, weights_only);
  ASSERT_TRUE(child.parent) << to_json(child).dump(1);
  EXPECT_EQ(child.parent->model.path, source_fp.path);
  EXPECT_TRUE(child.timings.contains("fingerprint_ms"));
  EXPECT_GE(child.timings["total_ms"].get<double>(), child.timings["fingerprint_ms"].get<double>());

  const std::vector<float> odd(33 * 17, 0.25f);  // a shape no registered model has
  io::write_safetensors(file("other.safetensors"), {{"w", io::DType::F32, {33, 17}, odd.data(), odd.size() * sizeof(float)}});
  const auto other_shapes = find_file(reg, file("other.safetensors"), {}, weights_only);
  EXPECT_FALSE(other_shapes.parent);
  EXPECT_EQ(other_shapes.tested, 0);
  EXPECT_NE(other_shapes.notes.dump().find(kQueryCannotRunNote), std::string::npos) << other_shapes.notes.dump();
}

// `modeldna convert --dtype f16` of a float32 model: the copy is the child
// in `find` and in the tree, whichever of the two is registered first
// (issue 27: the tree made a float16 copy the parent of its original).
TEST_F(RegistryFiles, AFloat16CopyIsTheChildOfItsFloat32Original) {
  const auto original = write_model(file("original.safetensors"), random_model(60));
  const auto copy = file("copy-f16.safetensors");
  io::convert_to_safetensors(io::open_store(original), copy, io::ConvertDType::F16);
  const auto original_fp = fingerprint_of(original), copy_fp = fingerprint_of(copy);
  Registry reg(file("r.sqlite"));
  reg.add(copy_fp);
  reg.add(original_fp);
  for (uint64_t s = 61; s < 64; ++s)
    reg.add(fingerprint_of(write_model(file("unrelated-" + std::to_string(s) + ".safetensors"), random_model(s))));
  const auto found = reg.find(copy_fp, {});
  ASSERT_TRUE(found.parent) << to_json(found).dump(1);
  EXPECT_EQ(found.parent->model.path, original_fp.path);
  EXPECT_EQ(found.parent->direction, Direction::CandidateIsParent) << found.parent->direction_reason;
  const auto of_original = reg.find(original_fp, {});
  EXPECT_FALSE(of_original.parent) << "the original was given its copy as parent";
  for (const auto* first : {&copy_fp, &original_fp}) {
    const auto* second = first == &copy_fp ? &original_fp : &copy_fp;
    const auto tree = lineage::build_tree({&first->sketch, &second->sketch});
    ASSERT_EQ(tree.edges.size(), 1u);
    const auto& parent = tree.edges[0].parent == 0 ? *first : *second;
    EXPECT_EQ(parent.path, original_fp.path) << tree.edges[0].direction_reason;
  }
}

// A transplant: C is donor A's body with donor B's head. B's head is
// correlated with A's (two heads for the same classes are, weakly) but not
// copied: that one weak layer must not make B a child of C, which carries
// nothing else of B's. (Measured on the tiny image zoo: a scratch donor's
// head against its transplant's, p = 0.002, made the scratch model the
// transplant's child on one machine and not on another.)
TEST_F(RegistryFiles, AWeaklyCorrelatedHeadDoesNotMakeADonorTheTransplantsChild) {
  const auto a = random_model(60);
  auto b = random_model(61);
  std::mt19937_64 rng(62);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  auto& head_b = b[6].second;
  for (std::size_t i = 0; i < head_b.size(); ++i) head_b[i] = kHeadMix * a[6].second[i] + noise(rng);
  auto c = a;
  c[6] = b[6];
  c[7] = b[7];
  std::vector<Fingerprint> prints;
  for (const auto& [name, m] : {std::pair{"a", a}, {"b", b}, {"c", c}})
    prints.push_back(fingerprint_of(write_model(file(std::string(name) + ".safetensors"), m)));
  // Strangers, so that an edge needs more than one layer's chance level.
  for (uint64_t seed = 70; seed < 76; ++seed)
    prints.push_back(fingerprint_of(write_model(file("stranger-" + std::to_string(seed) + ".safetensors"), random_model(seed))));
  std::vector<const compare::ModelSketch*> sketches;
  for (const auto& p : prints) sketches.push_back(&p.sketch);
  // The premise: B's head alone relates it to A, at a level that is
  // significant for one layer and not for an edge among nine models.
  const auto heads = compare::compare_sketches(*sketches[0], *sketches[1]);
  double head_log10_p = 0;
  for (const auto& pair : heads.pairs)
    if (sketches[0]->tensors[pair.source].name == "head.weight") head_log10_p = pair.log10_p;
  const auto tree = lineage::build_tree(sketches);
  ASSERT_LT(head_log10_p, std::log10(0.01)) << "the head is not correlated enough to test anything";
  ASSERT_GT(head_log10_p, tree.log10_edge_level) << "the head is correlated too much to be a chance";
  ASSERT_TRUE(tree.assembled[2]);
  EXPECT_EQ(tree.roots, (std::vector<std::size_t>{0, 1, 3, 4, 5, 6, 7, 8}));
  ASSERT_EQ(tree.edges.size(), 1u);
  EXPECT_EQ(tree.edges[0].child, 2u);
}

}  // namespace
}  // namespace modeldna::registry

#include "modeldna/registry/scale_bench.h"

namespace modeldna::registry {
namespace {

// The nearest-rank quantile against a brute-force definition: the smallest
// value with at least round(q (n - 1)) + 1 values at or below it.
TEST(ScaleBench, PercentileIsTheNearestRank) {
  std::mt19937_64 rng(5);
  for (int n : {1, 2, 7, 100}) {
    std::vector<double> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = std::uniform_real_distribution<double>(0, 1)(rng);
    for (double q : {0.0, 0.5, 0.9, 1.0}) {
      const auto rank = static_cast<std::size_t>(std::lround(q * (n - 1))) + 1;
      double brute = 0;
      for (double candidate : v)
        if (static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [&](double x) { return x <= candidate; })) >= rank &&
            (brute == 0 || candidate < brute))
          brute = candidate;
      EXPECT_EQ(percentile(v, q), brute) << "n " << n << " q " << q;
    }
  }
  EXPECT_EQ(percentile({}, 0.5), 0);
}

// The synthetic models keep what the benchmark claims: an independent one
// has each tensor's values, reordered, and fresh identities; a child is
// derived from its parent.
TEST_F(RegistryFiles, TheScaleBenchmarksSyntheticModelsAreWhatTheySay) {
  const auto real = fingerprint_of(write_model(file("real.safetensors"), random_model(41)));
  std::mt19937_64 rng(3);
  const auto independent = independent_from(real, rng, "/synthetic/a");
  ASSERT_EQ(independent.sketch.tensors.size(), real.sketch.tensors.size());
  for (std::size_t t = 0; t < real.sketch.tensors.size(); ++t) {
    auto a = real.sketch.tensors[t].values(), b = independent.sketch.tensors[t].values();
    EXPECT_NE(a, b);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b);
  }
  EXPECT_NE(independent.content_hash, real.content_hash);
  EXPECT_EQ(independent.path, "/synthetic/a");
  const auto child = child_of(real, rng, "/synthetic/b");
  EXPECT_TRUE(compare::compare_sketches(real.sketch, child.sketch, 0.01).derived);
  EXPECT_FALSE(compare::compare_sketches(real.sketch, child.sketch, 0.01).copied);
}

}  // namespace
}  // namespace modeldna::registry
