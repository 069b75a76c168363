// File: modeldna/evidence/behaviour.h
// Black-box evidence for compare: what running both models on probes of the
// source's input kind says (docs/compare.md). Behaviour alone cannot tell a
// model distilled from the source from one trained independently on the same
// task without something to compare with, so its p-value needs a reference
// panel: models trained independently of the source (other checkpoints of
// the task). With three or more references the statistic gets a p-value
// from Student's t prediction interval (exact if the panel's statistics are
// normal, approximate otherwise); with fewer it is reported without one.
#pragma once

#include <string>
#include <vector>

#include "modeldna/compare/compare.h"
#include "modeldna/evidence/behaviour_options.h"
#include "modeldna/evidence/probe_set.h"
#include "modeldna/nn/model_file.h"

namespace modeldna::evidence {

/// The behavioural statistic: the mean Jensen-Shannon similarity
/// (1 - JSD / ln 2) of the two models' output distributions over the clean,
/// noisy and CutMix probes when their outputs have the same size, else the
/// similarity of their probe-by-probe output correlation matrices on the
/// CutMix probes (SAC-m), which needs no shared output space.
double behavioural_similarity(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target);

/// Every black-box detector's numbers, the statistic, and its p-value
/// against `references` (each observed on `probes`).
compare::BlackBoxEvidence behavioural_evidence(const ProbeSet& probes, const ModelOutputs& source,
                                               const ModelOutputs& target,
                                               const std::vector<const ModelOutputs*>& references);


/// What a network reads, as a stable key ("images 1x28x28", "token ids,
/// vocabulary 4000, length 64"): fingerprints store it and registries look
/// models up by it, so its spelling is part of the fingerprint format.
std::string input_kind(const nn::ArchConfig& arch);

/// The probes compare shows models of `arch` (seeded by options.seed): for
/// image models, Fashion-MNIST training images (the built-in image source
/// task); for text models, State of the Union passages through
/// options.tokenizer, or random ids without one.
ProbeSet behaviour_probes(const nn::ArchConfig& arch, const BehaviourOptions& options);

/// log10 of P(T >= t) for Student's t with `df` degrees of freedom.
double log10_student_upper_tail(double t, double df);

}  // namespace modeldna::evidence
