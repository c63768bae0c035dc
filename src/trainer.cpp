#include "initbench/trainer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>
#include <set>

#include "initbench/diagnose.hpp"
#include "initbench/init.hpp"
#include "initbench/io.hpp"
#include "initbench/meanfield.hpp"
#include "initbench/mlp.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/probes.hpp"
#include "initbench/rng.hpp"

namespace initbench {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::size_t at(Index l) { return static_cast<std::size_t>(l); }

struct Eval {
  double loss = kNan;
  double accuracy = kNan;
};

double accuracy(const Correct& c) {
  return c.total > 0 ? static_cast<double>(c.correct) / static_cast<double>(c.total) : kNan;
}

std::string sizes_text(const MlpConfig& c) { return fmt::format("{}", fmt::join(c.sizes, "-")); }

// The mean-field quantities of the run's initialization at a hidden layer: the first
// hidden-to-hidden layer (l = 2), or layer 1 in a network with one hidden layer; nan where the
// scheme's variance depends on the data (lsuv) or the network has no hidden layer.
void fill_theory(const RunConfig& config, const MlpConfig& net, RunRow& row) {
  const Index L = net.num_layers();
  row.gain = kNan;
  try {
    row.gain = calculate_gain(config.model.activation);
  } catch (const std::invalid_argument&) {
    // no gain defined for this activation: nan
  }
  row.sigma_w2 = row.sigma_b2 = row.q_star = row.chi_1 = row.xi_c = kNan;
  if (L < 2) return;
  const Index l = L >= 3 ? 2 : 1;
  const Index fan_in = net.fan_in(l);
  const Index fan_out = net.fan_out(l);
  row.sigma_w2 = static_cast<double>(fan_in) * config.init.weights.variance(fan_in, fan_out) *
                 config.init.scale * config.init.scale;
  row.sigma_b2 = config.init.bias().variance(fan_in, fan_out);
  if (!std::isfinite(row.sigma_w2) || !std::isfinite(row.sigma_b2)) return;
  // the mean field below is a plain chain's without norms
  if (net.residual() || net.norm != Norm::kNone) return;
  const Activation& act = config.model.activation;
  const MeanField m = meanfield(act, row.sigma_w2, row.sigma_b2);
  row.q_star = m.q_star;
  row.chi_1 = m.chi_1;
  row.xi_c = m.xi_c;
}

double step_work(const RunConfig& config, const MlpConfig& net, Index m) {
  return 3.0 * static_cast<double>(net.num_parameters()) *
         static_cast<double>(config.train.batch_size(m));
}

template <typename T>
class Run {
 public:
  Run(const RunConfig& config, const Dataset& data)
      : config_(config),
        net_config_(config.network(data.num_features(), data.num_targets())),
        X_(data.X_train.cast<T>()),
        Y_(data.Y_train.cast<T>()),
        Xtest_(data.X_test.cast<T>()),
        Ytest_(data.Y_test.cast<T>()),
        Xval_(data.X_val.cast<T>()),
        Yval_(data.Y_val.cast<T>()),
        teacher_(data.teacher_map.size() > 0 ? &data.teacher_map : nullptr),
        m_(X_.cols()),
        batch_(config.train.batch_size(m_)),
        total_(config.train.total_steps(m_)),
        net_(net_config_, batch_),
        opt_(config.optimizer(net_config_), net_config_),
        shuffle_(config.seed, 0, stream::kShuffle),
        order_(at(m_)) {
    if (m_ == 0) throw std::invalid_argument("the training set is empty");
    if (total_ < 0)
      throw std::invalid_argument(fmt::format("train.steps must be >= 0, got {}", total_));
    std::iota(order_.begin(), order_.end(), Index{0});
    const ProbeConfig& p = config.probes;
    probe_n_ = p.batch == 0 ? 0 : std::min<Index>(p.batch, m_);
    // The probe batch is the training batch itself when asked (batch = 0), or when full-batch
    // training already runs on exactly those samples: then probes cost no extra pass.
    probes_on_step_ = p.batch == 0 || (batch_ == m_ && probe_n_ == m_);
    probes_ = probe_schedules(p, total_);
    if (probes_.any() && !probes_on_step_) {
      probe_ws_ = Workspace<T>(net_config_, probe_n_);
      probe_grads_ = Params<T>(net_config_);
      probe_ws_.input(probe_n_) = X_.leftCols(probe_n_);
      probe_ws_.target(probe_n_) = Y_.leftCols(probe_n_);
    }
    update_ratios_.assign(at(net_config_.num_layers() + 1), kNan);
    eval_steps_ = step_schedule(
        config.train.eval_every > 0 ? config.train.eval_every : std::max<long>(total_, 1), false,
        total_);
    dump_steps_ = std::set<long>(p.dump_weights.begin(), p.dump_weights.end());
  }

  RunRecord run(const std::atomic<bool>* cancel, LiveProgress* live) {
    const double work = live != nullptr ? step_work(config_, net_config_, m_) : 0.0;
    initialize_network();
    const auto start = std::chrono::steady_clock::now();
    RunRow& row = record_.run;
    fill_identity(row);
    const Index L = net_config_.num_layers();
    for (long t = 0;; ++t) {
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw Cancelled();
      const bool last = t == total_;
      if (dump_steps_.count(t) != 0) dump_weights(t);

      // Forward and backward on the next batch: the state after t updates.
      const Index n = load_batch();
      last_n_ = n;
      net_.forward(n);
      const double step_loss = net_.loss(n);
      net_.backward(n);
      const bool full_batch = n == m_;
      Eval train_now;
      if (full_batch) train_now = {step_loss, accuracy(net_.count_correct(net_.workspace(), n))};

      if (t == 0) row.init_grad_ratio = init_grad_ratio(L);
      probe(t);

      const bool finite = std::isfinite(step_loss);
      const bool eval_now = eval_steps_.count(t) != 0 || !finite;
      if (eval_now) {
        if (!full_batch) train_now = evaluate(X_, Y_);
        record_.curves.push_back(curve_row(t, train_now));
        check_stall(t, train_now.loss);
      }
      if (full_batch || eval_now) check_target(t, train_now);
      if (stop_ && !eval_now) {
        // A full-batch run reached its target between evaluations: evaluate where it stops, so
        // that curves.csv ends at the last step and the final_* columns describe it.
        record_.curves.push_back(curve_row(t, train_now));
      }

      row.steps_run = t;
      if (!finite) {
        status_ = Status::kDiverged;
        break;
      }
      if (stop_ || last) break;

      // The update t -> t + 1, measuring ||W after - W before|| / ||W before|| when the next
      // step probes the layers (in the update's own pass: no copy of the weights).
      const bool ratio_next = probes_.at(kLayersProbe, t + 1);
      // A batch norm's running statistics move with the batch this update trains on (after the
      // evaluations of step t, which used those of the t updates before).
      net_.update_running_stats(n);
      opt_.step(net_.params(), net_.grads(), ratio_next ? &update_ratios_ : nullptr);
      if (live != nullptr) {
        live->add(work);
        if (std::isfinite(step_loss)) {
          live->loss.store(step_loss, std::memory_order_relaxed);
          live->has_loss.store(true, std::memory_order_relaxed);
        }
      }
      if (!net_.params().all_finite()) {
        // Diverged during update t + 1: record what the network now computes (nan or inf).
        row.steps_run = t + 1;
        record_.curves.push_back(curve_row(t + 1, evaluate(X_, Y_)));
        status_ = Status::kDiverged;
        break;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (!status_) status_ = row.steps_to_target >= 0 ? Status::kConverged : Status::kNotConverged;
    row.status = status_name(*status_);
    const CurveRow& final_row = record_.curves.back();
    row.final_train_loss = final_row.train_loss;
    row.final_train_acc = final_row.train_acc;
    row.final_test_loss = final_row.test_loss;
    row.final_test_acc = final_row.test_acc;
    row.final_val_loss = final_row.val_loss;
    row.final_val_acc = final_row.val_acc;
    record_.timing = {config_.run_index, seconds,
                      seconds > 0 ? static_cast<double>(row.steps_run) / seconds : kNan};
    // The verdicts, from the rows just recorded (after training: it may allocate).
    set_verdicts(diagnose(record_), row);
    return std::move(record_);
  }

 private:
  void fill_identity(RunRow& row) const {
    row.run_id = config_.run_index;
    row.experiment = config_.experiment;
    row.scheme = config_.scheme;
    row.activation = config_.model.activation.str();
    row.depth = net_config_.num_layers() - 1;
    for (Index l = 1; l < net_config_.num_layers(); ++l)
      row.width = std::max<long>(row.width, net_config_.fan_out(l));
    row.layers = sizes_text(net_config_);
    row.seed = static_cast<long>(config_.seed);
    row.lr = config_.train.optimizer.lr;
    row.validation = Xval_.cols() > 0;
    fill_theory(config_, net_config_, row);
  }

  void initialize_network() {
    const Index lsuv_n = std::min<Index>(m_, 1024);
    const ConstMatrixRef<T> lsuv_batch = X_.leftCols(lsuv_n);
    initialize(net_, config_.init, config_.seed, 0, &lsuv_batch);
    if (config_.model.parametrization != Parametrization::kStandard)
      apply_init_factors(net_, config_.layer_scales(net_config_));
  }

  // Fills the network's input with the next batch and returns its size. Mini-batches walk a
  // fresh permutation each epoch; the last batch of an epoch may be shorter.
  Index load_batch() {
    if (batch_ == m_) {
      if (!loaded_) {
        net_.workspace().input(m_) = X_;
        net_.workspace().target(m_) = Y_;
        loaded_ = true;
      }
      return m_;
    }
    if (position_ >= m_) {
      for (Index i = m_ - 1; i > 0; --i) {
        const auto j = static_cast<Index>(shuffle_.below(static_cast<std::uint64_t>(i + 1)));
        std::swap(order_[at(i)], order_[at(j)]);
      }
      position_ = 0;
    }
    const Index n = std::min(batch_, m_ - position_);
    auto& ws = net_.workspace();
    for (Index j = 0; j < n; ++j) {
      const Index src = order_[at(position_ + j)];
      ws.A[0].col(j) = X_.col(src);
      ws.Y.col(j) = Y_.col(src);
    }
    position_ += n;
    return n;
  }

  // curves.csv's row at step t: `train` as measured, the test set and the validation set (if
  // any) evaluated now, in that order.
  CurveRow curve_row(long t, const Eval& train) {
    CurveRow row{config_.run_index, t, train.loss, train.accuracy};
    const Eval test = Xtest_.cols() > 0 ? evaluate(Xtest_, Ytest_) : Eval{};
    row.test_loss = test.loss;
    row.test_acc = test.accuracy;
    if (Xval_.cols() > 0) {
      const Eval val = evaluate(Xval_, Yval_);
      row.validation = true;
      row.val_loss = val.loss;
      row.val_acc = val.accuracy;
    }
    return row;
  }

  // Mean loss and accuracy over a whole set, in chunks through the network's workspace: an
  // evaluation pass (a batch norm uses its running statistics).
  Eval evaluate(const Matrix<T>& X, const Matrix<T>& Y) {
    loaded_ = false;  // the training batch in the workspace is overwritten
    auto& ws = net_.workspace();
    double loss_sum = 0.0;
    Correct correct;
    for (Index start = 0; start < X.cols(); start += batch_) {
      const Index n = std::min(batch_, X.cols() - start);
      ws.input(n) = X.middleCols(start, n);
      ws.target(n) = Y.middleCols(start, n);
      net_.forward(ws, n, Pass::kEval);
      loss_sum += net_.loss(ws, n) * static_cast<double>(n);
      const Correct c = net_.count_correct(ws, n);
      correct.correct += c.correct;
      correct.total += c.total;
    }
    return {loss_sum / static_cast<double>(X.cols()), accuracy(correct)};
  }

  // The workspace and gradients the probes read: the training step's, or a pass on the probe batch.
  struct ProbeView {
    const Workspace<T>* ws;
    Index n;
    const Params<T>* grads;
  };
  ProbeView probe_view() {
    if (probes_on_step_) return {&net_.workspace(), last_n_, &net_.grads()};
    net_.forward(probe_ws_, probe_n_);
    net_.backward(probe_ws_, probe_n_, probe_grads_);
    return {&probe_ws_, probe_n_, &probe_grads_};
  }

  double init_grad_ratio(Index L) {
    if (!probes_on_step_ && probe_ws_.capacity == 0) {
      // Probes are off: measure on the training batch of step 0.
      return static_cast<double>(net_.grads().W[1].norm()) /
             static_cast<double>(net_.grads().W[at(L)].norm());
    }
    const ProbeView v = probe_view();
    return static_cast<double>(v.grads->W[1].norm()) /
           static_cast<double>(v.grads->W[at(L)].norm());
  }

  void probe(long t) {
    if (!probes_.any_at(t)) return;
    const ProbeView v = probe_view();
    const ProbeInput<T> in{
        net_, *v.ws, v.n, *v.grads, update_ratios_, config_.probes, config_.run_index, t, teacher_};
    const std::vector<Probe>& registry = probe_registry();
    for (std::size_t i = 0; i < registry.size(); ++i) {
      if (probes_.at(i, t)) registry[i].run(in, probe_state_, record_);
    }
  }

  void check_target(long t, const Eval& train) {
    RunRow& row = record_.run;
    if (row.steps_to_target >= 0) return;
    const TrainConfig& tc = config_.train;
    const bool loss_hit = !std::isnan(tc.target_loss) && train.loss <= tc.target_loss;
    const bool acc_hit = !std::isnan(tc.target_accuracy) && train.accuracy >= tc.target_accuracy;
    if (loss_hit || acc_hit) {
      row.steps_to_target = t;
      if (tc.stop_at_target) stop_ = true;
    }
  }

  void check_stall(long t, double loss) {
    const TrainConfig& tc = config_.train;
    evals_.emplace_back(t, loss);
    if (tc.stall_window <= 0 || record_.run.stall_step >= 0) return;
    // The latest evaluation at least a window ago.
    const std::pair<long, double>* old = nullptr;
    for (const auto& e : evals_) {
      if (e.first <= t - tc.stall_window) old = &e;
    }
    if (old == nullptr || !std::isfinite(loss)) return;
    const double change = std::abs(loss - old->second) / std::max(std::abs(old->second), 1e-12);
    if (change < tc.stall_tolerance) {
      record_.run.stall_step = t;
      if (tc.stop_on_stall) {
        stop_ = true;
        status_ = Status::kStalled;
      }
    }
  }

  void dump_weights(long t) const {
    if (config_.weights_dir.empty()) return;
    const std::string dir = fmt::format("{}/step{}", config_.weights_dir, t);
    std::filesystem::create_directories(dir);
    for (Index l = 1; l <= net_config_.num_layers(); ++l) {
      write_npy(fmt::format("{}/W{}.npy", dir, l), net_.W(l));
      write_npy(fmt::format("{}/b{}.npy", dir, l), net_.b(l));
    }
    // a residual net's alpha_b, b = 1..B (learnable under fixup, rezero, skipinit)
    if (net_config_.blocks > 0) write_npy(fmt::format("{}/alpha.npy", dir), net_.params().alpha);
  }

  const RunConfig& config_;
  MlpConfig net_config_;
  Matrix<T> X_, Y_, Xtest_, Ytest_, Xval_, Yval_;
  const Matrix<double>* teacher_;  // (d_out, d_in): a linear teacher's map, else null
  Index m_;
  Index batch_;
  long total_;
  Mlp<T> net_;
  Optimizer<T> opt_;
  Rng shuffle_;
  std::vector<Index> order_;
  Index position_ = std::numeric_limits<Index>::max();  // forces a shuffle before the first batch
  bool loaded_ = false;
  Index last_n_ = 0;  // size of the batch in the workspace
  Index probe_n_ = 0;
  bool probes_on_step_ = false;
  Workspace<T> probe_ws_;
  Params<T> probe_grads_;
  std::vector<double> update_ratios_;
  ProbeSchedules probes_;
  std::set<long> eval_steps_, dump_steps_;
  ProbeState probe_state_;
  std::vector<std::pair<long, double>> evals_;
  std::optional<Status> status_;  // set when the run stops early
  bool stop_ = false;
  RunRecord record_;
};

}  // namespace

ProbeSchedules probe_schedules(const ProbeConfig& p, long total) {
  ProbeSchedules out;
  const std::vector<Probe>& registry = probe_registry();
  const std::set<long> layers = registry[kLayersProbe].steps(p, total, {});
  for (const Probe& probe : registry) out.steps.push_back(probe.steps(p, total, layers));
  return out;
}

const std::set<long>& ProbeSchedules::of(std::string_view probe) const {
  const std::vector<Probe>& registry = probe_registry();
  for (std::size_t i = 0; i < registry.size(); ++i) {
    if (probe == registry[i].name) return steps[i];
  }
  throw std::invalid_argument(fmt::format("no probe '{}'", probe));
}

bool ProbeSchedules::any() const {
  return std::any_of(steps.begin(), steps.end(), [](const auto& s) { return !s.empty(); });
}

bool ProbeSchedules::any_at(long t) const {
  return std::any_of(steps.begin(), steps.end(), [&](const auto& s) { return s.count(t) != 0; });
}

double step_work(const RunConfig& config, const Dataset& data) {
  const MlpConfig net = config.network(data.num_features(), data.num_targets());
  return step_work(config, net, data.X_train.cols());
}

RunRecord train(const RunConfig& config, const Dataset& data, const std::atomic<bool>* cancel,
                LiveProgress* live) {
  if (config.model.precision == Precision::kDouble)
    return Run<double>(config, data).run(cancel, live);
  return Run<float>(config, data).run(cancel, live);
}

}  // namespace initbench
