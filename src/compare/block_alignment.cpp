#include "block_alignment.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "modeldna/compare/unit_rows.h"

namespace modeldna::compare::detail {
namespace {

// The sample each block statistic reads: enough rows for a stable Gram
// matrix, few enough inputs that every block costs little.
constexpr int64_t kGramUnits = 128;
constexpr int64_t kGramInputs = 64;

// The off-diagonal entries of a sample's input Gram matrix (rows x inputs,
// row-major), standardised to mean 0 and norm 1: the dot product of two is
// the Pearson correlation of the Gram matrices, the same for any relabelling
// of either tensor's rows.
std::vector<double> gram_profile(const std::vector<float>& x, std::size_t inputs) {
  const std::size_t rows = inputs ? x.size() / inputs : 0;
  std::vector<double> g;
  g.reserve(inputs * (inputs - 1) / 2);
  for (std::size_t p = 0; p < inputs; ++p)
    for (std::size_t q = p + 1; q < inputs; ++q) {
      double s = 0;
      for (std::size_t r = 0; r < rows; ++r) s += static_cast<double>(x[r * inputs + p]) * x[r * inputs + q];
      g.push_back(s);
    }
  double mean = 0, norm = 0;
  for (double v : g) mean += v;
  mean /= static_cast<double>(std::max<std::size_t>(g.size(), 1));
  for (double& v : g) {
    v -= mean;
    norm += v * v;
  }
  norm = std::sqrt(norm);
  for (double& v : g) v = norm > 0 ? v / norm : 0.0;
  return g;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) s += a[k] * b[k];
  return s;
}

struct Block {
  std::map<std::string, const Candidate*> roles;
};
using Stack = std::map<int64_t, Block>;

std::map<std::string, Stack> stacks_of(const std::vector<Candidate>& candidates) {
  std::map<std::string, Stack> out;
  for (const auto& c : candidates)
    if (const auto slot = block_slot(c.match_name)) out[slot->stack][slot->block].roles[slot->role] = &c;
  return out;
}

// One tensor's Gram profile, on sampled rows and inputs (the same input
// positions for every tensor of its canonical dims, in both models).
std::vector<double> gram_sample(const io::TensorStore& store, const Candidate& c, uint64_t seed) {
  const auto units = sample_indices(c.shape.units, kGramUnits, seed);
  const auto inputs = sample_indices(c.shape.inputs, kGramInputs, seed + 1);
  const auto values = read_units(store, *c.info, c.shape, units, inputs);
  store.release(*c.info);
  return gram_profile(values, inputs.size());
}

}  // namespace

std::optional<BlockSlot> block_slot(const std::string& name) {
  static const std::regex kSlot(R"((^|.*\.)(layers|h|blocks|layer|block)\.([0-9]{1,6})\.(.+))");
  std::smatch m;
  if (!std::regex_match(name, m, kSlot)) return std::nullopt;
  return BlockSlot{m[1].str() + m[2].str(), std::stoll(m[3].str()), m[4].str()};
}

std::optional<BlockAlignment> align_blocks(const io::TensorStore& source, const std::vector<Candidate>& sc,
                                           const io::TensorStore& target, const std::vector<Candidate>& tc, uint64_t seed) {
  const auto s_stacks = stacks_of(sc), t_stacks = stacks_of(tc);
  // The stack both models have, with the most blocks.
  std::string stack;
  std::size_t most = 0;
  for (const auto& [name, blocks] : s_stacks) {
    const auto it = t_stacks.find(name);
    if (it == t_stacks.end()) continue;
    const std::size_t n = std::min(blocks.size(), it->second.size());
    if (n > most) {
      most = n;
      stack = name;
    }
  }
  if (most < 2) return std::nullopt;
  const auto& S = s_stacks.at(stack);
  const auto& T = t_stacks.at(stack);

  // Each tensor's Gram sample, read once; samples of one role share positions.
  std::map<const Candidate*, std::vector<double>> sample;
  auto sample_of = [&](const io::TensorStore& store, const Candidate* c) -> const std::vector<double>& {
    auto it = sample.find(c);
    if (it == sample.end()) it = sample.emplace(c, gram_sample(store, *c, sample_seed(seed ^ 0x6B6C6F63ull, c->shape.dims))).first;
    return it->second;
  };
  std::vector<int64_t> s_ids, t_ids;
  for (const auto& [b, _] : S) s_ids.push_back(b);
  for (const auto& [b, _] : T) t_ids.push_back(b);
  const std::size_t n = s_ids.size(), m = t_ids.size();
  std::vector<double> score(n * m, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) {
      double sum = 0;
      int roles = 0;
      for (const auto& [role, s] : S.at(s_ids[i]).roles) {
        const auto it = T.at(t_ids[j]).roles.find(role);
        if (it == T.at(t_ids[j]).roles.end() || it->second->shape.dims != s->shape.dims || s->shape.inputs < 2) continue;
        sum += dot(sample_of(source, s), sample_of(target, it->second));
        ++roles;
      }
      score[i * m + j] = roles ? sum / roles : 0.0;
    }

  // Needleman-Wunsch: a match earns its similarity above the threshold, a
  // gap nothing, so only blocks that are the same block are aligned.
  std::vector<double> best((n + 1) * (m + 1), 0.0);
  auto at = [m](std::size_t i, std::size_t j) { return i * (m + 1) + j; };
  for (std::size_t i = 1; i <= n; ++i)
    for (std::size_t j = 1; j <= m; ++j) {
      const double gain = score[(i - 1) * m + (j - 1)] - kSameBlockSimilarity;
      best[at(i, j)] = std::max({best[at(i - 1, j)], best[at(i, j - 1)], gain > 0 ? best[at(i - 1, j - 1)] + gain : -1.0});
    }
  BlockAlignment out;
  out.stack = stack;
  std::set<std::size_t> s_used, t_used;
  for (std::size_t i = n, j = m; i > 0 && j > 0;) {
    const double gain = score[(i - 1) * m + (j - 1)] - kSameBlockSimilarity;
    if (gain > 0 && best[at(i, j)] == best[at(i - 1, j - 1)] + gain) {
      out.source_of_target[t_ids[j - 1]] = s_ids[i - 1];
      out.renumbered = out.renumbered || t_ids[j - 1] != s_ids[i - 1];
      s_used.insert(i - 1);
      t_used.insert(j - 1);
      --i;
      --j;
    } else if (best[at(i, j)] == best[at(i - 1, j)]) {
      --i;
    } else {
      --j;
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (!s_used.count(i)) out.unmatched_source.push_back(s_ids[i]);
  for (std::size_t j = 0; j < m; ++j)
    if (!t_used.count(j)) out.unmatched_target.push_back(t_ids[j]);
  return out;
}

void apply_block_alignment(const BlockAlignment& alignment, std::vector<Candidate>& targets) {
  if (!alignment.renumbered) return;
  for (auto& c : targets) {
    const auto slot = block_slot(c.match_name);
    if (!slot || slot->stack != alignment.stack) continue;
    const auto it = alignment.source_of_target.find(slot->block);
    if (it == alignment.source_of_target.end()) {
      // From no source block: its number must not claim the source block of
      // that number, which another target block may have come from.
      c.match_name = "(unaligned) " + c.match_name;
      continue;
    }
    if (it->second == slot->block) continue;
    c.match_name = slot->stack + "." + std::to_string(it->second) + "." + slot->role;
    c.realigned = true;
  }
}

}  // namespace modeldna::compare::detail
