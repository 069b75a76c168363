// MGMP training: stage 1 teaches the generator with the DNA similarity loss,
// stage 2 the classifier with cross-entropy (reference code), or both at once
// (Schedule::Joint, from a summary of the paper). Model outputs on the training probes are
// computed once up front: the models are frozen, so this equals re-running
// them every batch, minus the cost.
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <chrono>

#include "modeldna/core/error.h"
#include "modeldna/dna/mgmp.h"
#include "modeldna/dna/similarity_loss.h"
#include "modeldna/nn/train.h"

namespace modeldna::dna {
namespace {

// Row-aligned outputs on the training probes: pair i of every group.
struct PairOutputs {
  torch::Tensor source, homologous, non_homologous;  // [P, d] each
};

// A, P, Q for one batch of probes, rows ordered (pair, probe).
struct BatchDna {
  torch::Tensor anchor, positive, negative;
};

BatchDna batch_dna(const std::vector<PairOutputs>& pairs, const torch::Tensor& encoding, const torch::Tensor& idx) {
  std::vector<torch::Tensor> a, p, q;
  for (const auto& pair : pairs) {
    a.push_back(encoding + pair.source.index_select(0, idx));
    p.push_back(encoding + pair.homologous.index_select(0, idx));
    q.push_back(encoding + pair.non_homologous.index_select(0, idx));
  }
  return {torch::cat(a), torch::cat(p), torch::cat(q)};
}

torch::Tensor classifier_loss(ProvenanceClassifier& classifier, const BatchDna& d) {
  // Negatives first, then positives, source DNA first: as the reference.
  const auto logits = torch::cat({classifier->forward(d.anchor, d.negative), classifier->forward(d.anchor, d.positive)});
  const int64_t n = d.anchor.size(0);
  const auto labels = torch::cat({torch::zeros({n}, torch::kInt64), torch::ones({n}, torch::kInt64)});
  return torch::nn::functional::cross_entropy(logits, labels);
}

}  // namespace

ProbeSplit split_probe_pool(int64_t pool_size, int64_t train, int64_t verify) {
  MDNA_CHECK(train > 0 && verify > 0 && train + verify <= pool_size,
             "the probe pool holds " + std::to_string(pool_size) + " inputs, " + std::to_string(train + verify) +
                 " are needed");
  const auto order = torch::randperm(pool_size, torch::kInt64);
  return {order.slice(0, 0, train), order.slice(0, train, train + verify)};
}

MgmpDetector MgmpDetector::train(const std::vector<TrainingGroup>& groups, const data::Dataset& probe_pool,
                                 const MgmpSettings& settings, const TrainProgress& progress) {
  MDNA_CHECK(!groups.empty(), "MGMP training needs at least one source with targets");
  const auto format = groups.front().source->config().input;
  MDNA_CHECK(format.matches_batch(probe_pool.inputs),
             "the probe pool '" + probe_pool.name + "' does not hold the sources' inputs (" + format.describe() + ")");
  MgmpDetector det(settings, format, groups.front().source->config().num_classes);
  const int64_t dna_dim = det.dna_dim_;
  if (settings.readout == Readout::Features)
    for (const auto& g : groups) det.add_projection(*g.source);
  const auto& s = det.settings_;

  torch::manual_seed(s.seed);
  const auto split = split_probe_pool(probe_pool.size(), s.train_probes, s.verify_probes);
  const auto train_x = probe_pool.inputs.index_select(0, split.train);
  det.probes_ = probe_pool.inputs.index_select(0, split.verify);

  std::vector<PairOutputs> pairs;
  nlohmann::json seen = nlohmann::json::array();
  for (const auto& g : groups) {
    MDNA_CHECK(g.homologous.size() == g.non_homologous.size() && !g.homologous.empty(),
               "source '" + g.source_id + "' needs as many homologous as non-homologous targets (and some)");
    const auto source_out = det.read(*g.source, train_x);
    nlohmann::json entry = {{"source", g.source_id}, {"homologous", {}}, {"non_homologous", {}}};
    for (size_t i = 0; i < g.homologous.size(); ++i) {
      pairs.push_back({source_out, det.read(*g.homologous[i].second, train_x),
                       det.read(*g.non_homologous[i].second, train_x)});
      entry["homologous"].push_back(g.homologous[i].first);
      entry["non_homologous"].push_back(g.non_homologous[i].first);
    }
    seen.push_back(entry);
  }
  det.record_["trained_on"] = seen;

  auto& generator = det.generator_;
  auto& classifier = det.classifier_;
  torch::optim::SGD generator_opt(generator->parameters(), torch::optim::SGDOptions(s.generator_lr)
                                                                 .momentum(s.generator_momentum)
                                                                 .weight_decay(s.generator_weight_decay));
  torch::optim::Adam classifier_opt(classifier->parameters(),
                                    torch::optim::AdamOptions(s.classifier_lr).weight_decay(s.classifier_weight_decay));
  const int64_t batches = (s.train_probes + s.batch_size - 1) / s.batch_size;
  const auto zero_encoding = torch::zeros({1, dna_dim});

  struct Stage {
    std::string name;
    int64_t epochs;
  };
  std::vector<Stage> stages;
  if (s.schedule == Schedule::Joint) {
    stages.push_back({"joint", std::max(s.generator_epochs, s.classifier_epochs)});
  } else {
    if (s.use_generator) stages.push_back({"generator", s.generator_epochs});
    stages.push_back({"classifier", s.classifier_epochs});
  }
  int64_t epochs_left = 0;
  for (const auto& st : stages) epochs_left += st.epochs;
  nlohmann::json history = nlohmann::json::array();
  const auto start = std::chrono::steady_clock::now();
  int64_t epochs_done = 0;

  for (const auto& stage : stages) {
    for (int64_t epoch = 1; epoch <= stage.epochs; ++epoch) {
      // The reference leaves the generator in train mode in every stage, so its
      // BatchNorm statistics keep moving while the classifier learns.
      generator->train();
      classifier->train();
      const auto perm = torch::randperm(s.train_probes, torch::kInt64);
      double total = 0;
      for (int64_t b = 0; b < batches; ++b) {
        const auto idx = perm.slice(0, b * s.batch_size, std::min((b + 1) * s.batch_size, s.train_probes));
        const auto x = train_x.index_select(0, idx);
        torch::Tensor loss;
        if (stage.name == "generator") {
          const auto d = batch_dna(pairs, generator->forward(x), idx);
          loss = dna_similarity_loss(d.anchor, d.positive, d.negative, s.temperature);
          generator_opt.zero_grad();
          loss.backward();
          generator_opt.step();
        } else if (stage.name == "classifier") {
          torch::Tensor encoding;
          {
            torch::NoGradGuard no_grad;
            encoding = s.use_generator ? generator->forward(x) : zero_encoding;
          }
          loss = classifier_loss(classifier, batch_dna(pairs, encoding, idx));
          classifier_opt.zero_grad();
          loss.backward();
          classifier_opt.step();
        } else {  // joint
          const auto encoding = s.use_generator ? generator->forward(x) : zero_encoding;
          const auto d = batch_dna(pairs, encoding, idx);
          loss = classifier_loss(classifier, d);
          if (s.use_generator) loss = loss + dna_similarity_loss(d.anchor, d.positive, d.negative, s.temperature);
          generator_opt.zero_grad();
          classifier_opt.zero_grad();
          loss.backward();
          if (s.use_generator) generator_opt.step();
          classifier_opt.step();
        }
        total += loss.item<double>();
      }
      const double mean_loss = total / static_cast<double>(batches);
      history.push_back({{"stage", stage.name}, {"epoch", epoch}, {"loss", mean_loss}});
      ++epochs_done;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double left = elapsed / static_cast<double>(epochs_done) * static_cast<double>(epochs_left - epochs_done);
      if (progress) progress(stage.name, epoch, stage.epochs, mean_loss, left);
    }
  }
  det.record_["loss_history"] = history;
  det.record_["train_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  det.cache_probe_encoding();
  // The training pairs judged on the held-out verification probes: high here
  // but low on held-out tasks means a failure to transfer, low here means
  // the detector underfits (issue 13, "budget").
  nlohmann::json fit = nlohmann::json::array();
  for (const auto& g : groups) {
    const auto source_out = det.observe(*g.source);
    for (size_t i = 0; i < g.homologous.size(); ++i) {
      const auto acc = pair_accuracy(det.homologous_probability(source_out, det.observe(*g.homologous[i].second)),
                                     det.homologous_probability(source_out, det.observe(*g.non_homologous[i].second)));
      fit.push_back({{"source", g.source_id}, {"homologous", g.homologous[i].first}, {"non_homologous", g.non_homologous[i].first},
                     {"overall", acc.overall}, {"homologous_accuracy", acc.homologous},
                     {"non_homologous_accuracy", acc.non_homologous}});
    }
  }
  det.record_["training_pairs_on_verify_probes"] = fit;
  return det;
}

}  // namespace modeldna::dna
