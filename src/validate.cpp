// validate.cpp: the one check of a run against the shape of its data (spec.hpp: check_run).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "initbench/activation.hpp"
#include "initbench/data.hpp"
#include "initbench/loss.hpp"
#include "initbench/mlp.hpp"
#include "initbench/spec.hpp"

namespace initbench {

namespace {

void check_output(const RunConfig& run, const DataShape& shape) {
  const Output out = run.model.output;
  if (shape.classes == 0 && out != Output::kLinear) {
    throw RunCheckError({"model.output", "data.kind"},
                        fmt::format("model.output = '{}': {} regression targets are real numbers; "
                                    "use output = \"linear\" (MSE)",
                                    output_name(out), shape.kind));
  }
  if (out == Output::kSoftmax && shape.outputs < 2) {
    throw RunCheckError({"model.output", "data.kind"},
                        fmt::format("model.output = 'softmax': {} has 2 classes, given as one 0/1 "
                                    "target row; use output = \"sigmoid\"",
                                    shape.kind));
  }
  if (out == Output::kSigmoid && shape.classes > 2) {
    throw RunCheckError({"model.output", "data.classes"},
                        fmt::format("model.output = 'sigmoid' is for binary labels, but the {} "
                                    "data have {} classes: use output = \"softmax\"",
                                    shape.kind, shape.classes));
  }
}

// The modes probe reads a linear teacher's map and the network's end-to-end linear map.
void check_modes(const RunConfig& run) {
  const DataSpec& d = run.data;
  if (d.kind != "teacher" || d.hidden != 0 || d.classify) {
    throw RunCheckError({"probes.modes", "data.kind", "data.hidden", "data.classify"},
                        "probes.modes measures the modes of a linear teacher's map: it needs "
                        "data.kind = \"teacher\" with hidden = 0 and classify = false");
  }
  if (d.standardize) {
    throw RunCheckError({"probes.modes", "data.standardize"},
                        "probes.modes reads the teacher's map in its own input coordinates: "
                        "data.standardize = true rescales them; leave it false");
  }
  if (run.model.residual || run.model.activation.kind != ActivationKind::kIdentity) {
    throw RunCheckError(
        {"probes.modes", "model.activation", "model.residual"},
        fmt::format("probes.modes needs a linear network, whose end-to-end map "
                    "is the product of its weights: model.activation = "
                    "\"identity\" and no residual stream (got '{}'{})",
                    run.model.activation.str(), run.model.residual ? ", residual" : ""));
  }
}

// A batch norm needs at least 2 samples in every training pass (the variance of one sample is 0);
// the probes' own Jacobians and modes, and LSUV's layer-by-layer pass, know no norm.
void check_norm(const RunConfig& run, const DataShape& shape) {
  const Norm norm = run.model.norm;
  if (norm == Norm::kNone) return;
  const std::string what = fmt::format("model.norm = '{}'", norm_name(norm));
  if (run.model.parametrization != Parametrization::kStandard) {
    throw RunCheckError({"model.parametrization", "model.norm"},
                        fmt::format("model.parametrization = '{}' is defined here for MLPs "
                                    "without normalization layers; {} needs model.parametrization "
                                    "= \"standard\"",
                                    parametrization_name(run.model.parametrization), what));
  }
  if (norm == Norm::kBatch) {
    const Index b = run.train.batch_size(shape.train);
    if (b < 2) {
      throw RunCheckError({"model.norm", "train.batch"},
                          fmt::format("{} normalizes over the batch: train.batch = {} gives {} "
                                      "sample{} per step; allowed: 2 or more",
                                      what, run.train.batch, b, b == 1 ? "" : "s"));
    }
    if (b < shape.train && shape.train % b == 1) {
      throw RunCheckError({"model.norm", "train.batch"},
                          fmt::format("{} normalizes over the batch: {} training samples in "
                                      "batches of {} leave a last batch of 1 sample; choose a "
                                      "batch size that leaves 0 or at least 2",
                                      what, shape.train, b));
    }
    if (run.probes.batch == 1) {
      throw RunCheckError({"model.norm", "probes.batch"},
                          fmt::format("{} normalizes over the batch: probes.batch = 1 is one "
                                      "sample; allowed: 0 (the training batch) or 2 or more",
                                      what));
    }
  }
  for (const char* probe : {"jacobian", "layer_jacobian", "modes"}) {
    if (run.probes.on(probe)) {
      throw RunCheckError({fmt::format("probes.{}", probe), "model.norm"},
                          fmt::format("probes.{} computes a network without normalization layers; "
                                      "{} needs model.norm = \"none\"",
                                      probe, what));
    }
  }
  if (run.init.weights.info().data_dependent) {
    throw RunCheckError({"init.scheme", "model.norm"},
                        fmt::format("init.scheme = '{}' scales each layer on a pass without "
                                    "normalization layers; {} needs another scheme",
                                    run.scheme, what));
  }
}

// model.parametrization against the network, its scheme and optimizer (parametrization.hpp).
void check_parametrization(const RunConfig& run, const MlpConfig& net) {
  if (run.model.parametrization == Parametrization::kStandard) return;
  try {
    run.layer_scales(net);
  } catch (const std::invalid_argument& e) {
    throw RunCheckError(
        {"model.parametrization", "init.scheme", "model.base_width", "model.residual"}, e.what());
  }
}

}  // namespace

void check_network(const RunConfig& run, const MlpConfig& net, const char* size_key) {
  if (static_cast<double>(net.num_parameters()) > static_cast<double>(kMaxParameters)) {
    throw RunCheckError({size_key}, fmt::format("the network has {} parameters: absurd; the "
                                                "limit is {}",
                                                net.num_parameters(), kMaxParameters));
  }
  check_parametrization(run, net);
  try {
    run.init.check(net);
  } catch (const std::invalid_argument& e) {
    throw RunCheckError({"init.scheme", "model.residual", "model.layers", "model.depth"},
                        fmt::format("init.scheme = '{}': {}", run.scheme, e.what()));
  }
}

void check_run(const RunConfig& run, const DataShape& shape) {
  const ModelConfig& m = run.model;
  if (!m.layers.empty() && (m.layers.front() != shape.inputs || m.layers.back() != shape.outputs)) {
    throw RunCheckError(
        {"model.layers"},
        fmt::format("model.layers = [{}] does not fit the {} data: it has {} input{} and {} "
                    "output{}, so layers must start with {} and end with {}",
                    fmt::join(m.layers, ", "), shape.kind, shape.inputs,
                    shape.inputs == 1 ? "" : "s", shape.outputs, shape.outputs == 1 ? "" : "s",
                    shape.inputs, shape.outputs));
  }
  check_output(run, shape);
  const char* size_key = m.residual         ? "model.residual"
                         : m.layers.empty() ? "model.depth"
                                            : "model.layers";
  MlpConfig net;
  try {
    net = m.resolve(shape.inputs, shape.outputs);
  } catch (const std::invalid_argument& e) {
    throw RunCheckError({size_key}, e.what());
  }
  // the parametrization's own errors name its keys, not the sizes'
  net.learn_alpha = run.init.weights.info().residual;
  check_parametrization(run, net);
  try {
    net = run.network(shape.inputs, shape.outputs);
  } catch (const std::invalid_argument& e) {
    throw RunCheckError({size_key}, e.what());
  }
  check_network(run, net, m.layers.empty() ? "model.width" : "model.layers");
  if (run.train.batch > shape.train) {
    throw RunCheckError({"train.batch"},
                        fmt::format("train.batch = {} is larger than the data: {} training "
                                    "samples (use 0 for full batch)",
                                    run.train.batch, shape.train));
  }
  // These probes compute the Jacobians of a plain MLP's chain of layers, not of a residual stream.
  for (const char* probe : {"jacobian", "layer_jacobian"}) {
    if (m.residual && run.probes.on(probe)) {
      throw RunCheckError({fmt::format("probes.{}", probe), "model.residual"},
                          fmt::format("probes.{} is for plain MLPs: its Jacobians are those of a "
                                      "chain of layers, and model.residual = true adds a stream",
                                      probe));
    }
  }
  if (!m.residual && run.probes.on("stream")) {
    throw RunCheckError({"probes.stream", "model.residual"},
                        "probes.stream measures a residual net's stream: it needs "
                        "model.residual = true");
  }
  if (run.probes.on("modes")) check_modes(run);
  check_norm(run, shape);
  if (run.init.weights.info().data_dependent && shape.train < 2) {
    throw RunCheckError({"init.scheme", "data.train"},
                        fmt::format("init.scheme = '{}' measures variances on the training "
                                    "samples and needs at least 2, but the data have {}",
                                    run.scheme, shape.train));
  }
  const long last = run.train.total_steps(shape.train);
  for (const long step : run.probes.dump_weights) {
    if (step > last) {
      throw RunCheckError(
          {"probes.dump_weights"},
          fmt::format("probes.dump_weights: step {} is after the last step ({})", step, last));
    }
  }
}

}  // namespace initbench
