// File: modeldna/evidence/probe_set.h
// The inputs a detector shows to both models. One set serves every black-box
// detector, so each model runs forward once per (source, probe set):
//   clean  - n inputs from the source's training data
//   noisy  - the same n inputs perturbed (ModelDiff's input pairs): images plus
//            Gaussian noise; texts with 15% of their tokens swapped for others
//   cutmix - n mixtures of two clean inputs (SAC-m): a pasted image rectangle;
//            a text's head spliced onto another's tail
#pragma once

#include <torch/types.h>

#include <memory>

#include "modeldna/data/dataset.h"
#include "modeldna/io/tensor_store.h"
#include "modeldna/nn/network.h"

namespace modeldna::evidence {

struct ProbeSet {
  torch::Tensor clean;   // [n, ...] model inputs
  torch::Tensor noisy;   // [n, ...]
  torch::Tensor cutmix;  // [n, ...]
  torch::Tensor labels;  // int64 [n], true labels of the clean images

  int64_t size() const { return clean.size(0); }
  /// clean, noisy and cutmix stacked: the order of ModelOutputs::logits rows.
  torch::Tensor all_inputs() const;
};

/// Draws n probes (seeded) from `source_data`, normally the source task's
/// training split. Uses its own generator: the global torch seed is untouched.
/// UsageError when the data holds fewer than n images or no images at all.
ProbeSet make_probe_set(const data::Dataset& source_data, int64_t n, uint64_t seed);

/// A model as detectors see it: its weights (white-box: the file as a tensor
/// store, or the network's parameters) and its outputs on a probe set
/// (black-box), computed once. Either part may be missing: a file modeldna
/// cannot run has only a store, an in-memory network only parameters.
struct ModelOutputs {
  std::string id;
  nn::NetworkPtr network;                        // null when the model cannot be run
  std::shared_ptr<const io::TensorStore> store;  // null for a network that never was a file
  torch::Tensor logits;  // [3n, classes]: rows for clean, then noisy, then cutmix

  torch::Tensor clean(int64_t n) const { return logits.slice(0, 0, n); }
  torch::Tensor noisy(int64_t n) const { return logits.slice(0, n, 2 * n); }
  torch::Tensor cutmix(int64_t n) const { return logits.slice(0, 2 * n, 3 * n); }
};

/// Runs `network` on every probe; `store` is the file it was loaded from.
ModelOutputs observe(std::string id, nn::NetworkPtr network, const ProbeSet& probes,
                     std::shared_ptr<const io::TensorStore> store = nullptr);
/// A model seen only as weights (no forward pass): for the white-box detectors.
ModelOutputs weights_only(std::string id, std::shared_ptr<const io::TensorStore> store);

}  // namespace modeldna::evidence
