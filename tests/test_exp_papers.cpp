// The papers' claims, each run at its [quick] size:
// glorot2010 (Glorot & Bengio 2010) and he2015 (He et al. 2015). Each test asserts the part of
// its claim that holds at that size; results/<name>/README.md has the full-size numbers.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "experiment_support.hpp"

namespace {

using initbench::RunRecord;
using initbench::testing::find_run;
using initbench::testing::layers_at;
using initbench::testing::quick_experiment;
using initbench::testing::run_quick;

// Mean singular value of the input-output Jacobian over the probed samples at one step.
double jacobian_mean(const RunRecord& r, long step) {
  double sum = 0.0;
  long n = 0;
  for (const auto& row : r.rows<initbench::JacobianRow>()) {
    if (row.step == step) {
      sum += row.singular_value;
      ++n;
    }
  }
  REQUIRE(n > 0);
  return sum / static_cast<double>(n);
}

}  // namespace

TEST_CASE(
    "glorot2010: at step 0 tanh deltas shrink toward the input under standard init and stay about "
    "flat under normalized init, the Jacobian's mean singular value is lower under standard, "
    "sigmoid's top hidden layer drifts toward 0, normalized tanh nets reach a lower test error") {
  const auto records = run_quick(quick_experiment("glorot2010.toml"));
  REQUIRE(records.size() == 8);  // sigmoid, tanh x depth 4, 5 x standard, normalized

  for (const std::string depth : {"4", "5"}) {
    CAPTURE(depth);
    const long L = std::stol(depth) + 1;  // the output layer
    const auto& standard = find_run(
        records,
        {{"model.activation", "tanh"}, {"model.depth", depth}, {"init.scheme", "glorot_standard"}});
    const auto& normalized = find_run(
        records,
        {{"model.activation", "tanh"}, {"model.depth", depth}, {"init.scheme", "glorot_uniform"}});

    // Back-propagated gradients dL/dz_l at initialization, hidden layer l against the layer above
    // it. Standard init: Var(W) = 1/(3 n), so each tanh layer (near its linear regime) scales the
    // delta by about sqrt(1/3) = 0.58; normalized: Var(W) = 1/n for square layers, about 1
    // before tanh' shrinks it a little.
    const auto s0 = layers_at(standard, 0);
    const auto n0 = layers_at(normalized, 0);
    REQUIRE(s0.size() == static_cast<std::size_t>(L));
    REQUIRE(n0.size() == static_cast<std::size_t>(L));
    for (long l = 1; l < L - 1; ++l) {
      CAPTURE(l);
      CHECK(s0.at(l).delta_norm / s0.at(l + 1).delta_norm < 0.65);
      CHECK(n0.at(l).delta_norm / n0.at(l + 1).delta_norm > 0.75);
      CHECK(n0.at(l).delta_norm / n0.at(l + 1).delta_norm < 1.33);
    }
    // Over the whole stack, from the top hidden layer down to the first: normalized keeps most
    // of the delta; standard loses the weight-scale ratio sqrt(1/3) = 0.58 more per layer (at
    // least a factor 0.65 per layer here: tanh' is a little smaller under normalized init).
    const double standard_gain = s0.at(1).delta_norm / s0.at(L - 1).delta_norm;
    const double normalized_gain = n0.at(1).delta_norm / n0.at(L - 1).delta_norm;
    CAPTURE(standard_gain);
    CAPTURE(normalized_gain);
    CHECK(normalized_gain > 0.5);
    CHECK(standard_gain < std::pow(0.65, static_cast<double>(L - 2)) * normalized_gain);

    // The input-output Jacobian at step 0: its mean singular value is lower under standard init,
    // by the per-layer factor (about 0.6) compounded over the hidden layers.
    const double j_standard = jacobian_mean(standard, 0);
    const double j_normalized = jacobian_mean(normalized, 0);
    CAPTURE(j_standard);
    CAPTURE(j_normalized);
    CHECK(j_standard < 0.5 * j_normalized);

    // Test error after the quick run's updates: lower with normalized init.
    CAPTURE(standard.run.final_test_acc);
    CAPTURE(normalized.run.final_test_acc);
    CHECK(normalized.run.final_test_acc > standard.run.final_test_acc);
  }

  // Every net, sigmoid too: the Jacobian's mean singular value at step 0 is lower under standard.
  for (const std::string act : {"sigmoid", "tanh"}) {
    for (const std::string depth : {"4", "5"}) {
      CAPTURE(act);
      CAPTURE(depth);
      const auto& standard = find_run(
          records,
          {{"model.activation", act}, {"model.depth", depth}, {"init.scheme", "glorot_standard"}});
      const auto& normalized = find_run(
          records,
          {{"model.activation", act}, {"model.depth", depth}, {"init.scheme", "glorot_uniform"}});
      CHECK(jacobian_mean(standard, 0) < jacobian_mean(normalized, 0));
    }
  }

  // Sigmoid: the top hidden layer's mean activation starts at 0.5 and moves toward 0 (the
  // paper's saturation, which there reaches 0 within the first epochs; at this size it has only
  // begun), while the first hidden layer stays at 0.5.
  for (const std::string depth : {"4", "5"}) {
    for (const std::string scheme : {"glorot_standard", "glorot_uniform"}) {
      CAPTURE(depth);
      CAPTURE(scheme);
      const long top = std::stol(depth);
      const auto& r = find_run(
          records,
          {{"model.activation", "sigmoid"}, {"model.depth", depth}, {"init.scheme", scheme}});
      const long last = r.rows<initbench::LayerRow>().back().step;
      const auto first_probe = layers_at(r, 0);
      const auto last_probe = layers_at(r, last);
      CAPTURE(first_probe.at(top).act_mean);
      CAPTURE(last_probe.at(top).act_mean);
      CAPTURE(first_probe.at(1).act_mean);
      CAPTURE(last_probe.at(1).act_mean);
      // Both start about 0.5 (over seeds the step-0 means scatter by about 0.01).
      CHECK(std::abs(first_probe.at(top).act_mean - 0.5) < 0.02);
      CHECK(std::abs(first_probe.at(1).act_mean - 0.5) < 0.02);
      // The top layer moves down; the first stays where it started (a fifth of the top's move at
      // most: over seeds it moves by 2e-4 while the top moves by 0.01).
      const double top_drop = first_probe.at(top).act_mean - last_probe.at(top).act_mean;
      CHECK(top_drop > 0.005);
      CHECK(std::abs(last_probe.at(1).act_mean - first_probe.at(1).act_mean) < 0.2 * top_drop);
    }
  }
}

TEST_CASE(
    "he2015: the 30-layer ReLU net starts in a stall with Glorot init (loss at its initial value "
    "for 200 steps, vanishing activations and gradients) while He trains, at 22 layers both "
    "train") {
  const auto records = run_quick(quick_experiment("he2015.toml"));
  REQUIRE(records.size() == 4);  // depth 21, 29 hidden layers x glorot_normal, he_normal
  const double ln10 = std::log(10.0);

  for (const std::string depth : {"21", "29"}) {
    CAPTURE(depth);
    const long L = std::stol(depth) + 1;
    const auto& glorot =
        find_run(records, {{"model.depth", depth}, {"init.scheme", "glorot_normal"}});
    const auto& he = find_run(records, {{"model.depth", depth}, {"init.scheme", "he_normal"}});

    // Step 0. Glorot on square ReLU layers halves the forward variance per layer: the top hidden
    // layer's activations are orders of magnitude below the first's, and so are the
    // back-propagated deltas of the first layer against the top one. He keeps both within a
    // factor of a few.
    const auto g0 = layers_at(glorot, 0);
    const auto h0 = layers_at(he, 0);
    REQUIRE(g0.size() == static_cast<std::size_t>(L));
    REQUIRE(h0.size() == static_cast<std::size_t>(L));
    const double g_act = g0.at(L - 1).act_std / g0.at(1).act_std;
    const double h_act = h0.at(L - 1).act_std / h0.at(1).act_std;
    const double g_delta = g0.at(1).delta_norm / g0.at(L - 1).delta_norm;
    const double h_delta = h0.at(1).delta_norm / h0.at(L - 1).delta_norm;
    CAPTURE(g_act);
    CAPTURE(h_act);
    CAPTURE(g_delta);
    CAPTURE(h_delta);
    CHECK(g_act < 1e-2);
    CHECK(g_delta < 1e-2);
    CHECK(h_act > 0.2);
    CHECK(h_act < 5.0);
    CHECK(h_delta > 0.2);
    CHECK(h_delta < 5.0);
    // Every layer's weight gradient is vanishingly small under Glorot: ||dL/dW_l|| =
    // ||delta_l|| ||a_{l-1}||, one factor shrinking toward the input, the other toward the output.
    for (long l = 1; l <= L; ++l) {
      CAPTURE(l);
      CHECK(g0.at(l).grad_w_norm < 1e-2 * h0.at(l).grad_w_norm);
    }
    // Which is why the first-to-last ratio (runs.csv init_grad_ratio) does not show it: both
    // ends are small together, and the ratio stays of order 1 for either init.
    CHECK(glorot.run.init_grad_ratio > 0.1);
    CHECK(glorot.run.init_grad_ratio < 10.0);

    // He trains at both depths: the loss falls well below its initial value ln 10 and the
    // network never stalls.
    REQUIRE(!he.curves.empty());
    CHECK(he.run.final_train_loss < 0.5 * he.curves.front().train_loss);
    CHECK(he.run.stall_step == -1);
  }

  const auto& g30 = find_run(records, {{"model.depth", "29"}, {"init.scheme", "glorot_normal"}});
  const auto& g22 = find_run(records, {{"model.depth", "21"}, {"init.scheme", "glorot_normal"}});
  const auto& h22 = find_run(records, {{"model.depth", "21"}, {"init.scheme", "he_normal"}});

  // 30 layers, Glorot: a stall at the start. Through step 200 the loss stays within 0.5 % of
  // its initial value (ln 10: the logits are about 0) while He's is a tenth below it. The
  // stall is not permanent: at full size Glorot leaves it in 5 of 6 runs (results/he2015), and
  // at this size too on some seeds, so nothing is asserted about the end of the run.
  const auto& h30 = find_run(records, {{"model.depth", "29"}, {"init.scheme", "he_normal"}});
  const double initial = g30.curves.front().train_loss;
  CAPTURE(initial);
  CHECK(initial == doctest::Approx(ln10).epsilon(0.01));
  for (const auto& c : g30.curves) {
    if (c.step > 200) break;
    CAPTURE(c.step);
    CHECK(std::abs(c.train_loss - initial) < 0.005 * initial);
  }
  for (const auto& c : h30.curves) {
    if (c.step != 200) continue;
    CHECK(c.train_loss < 0.9 * initial);
  }

  // 22 layers: Glorot trains too (the loss leaves ln 10 and does not stall). Which of the two
  // is first is not asserted: at full size He is sooner in 5 of 6 seed pairs and tied in 1
  // (results/he2015), and at this budget of 400 steps the order changes with the seed.
  CAPTURE(g22.run.final_train_loss);
  CAPTURE(h22.run.final_train_loss);
  CHECK(g22.run.final_train_loss < 0.75 * g22.curves.front().train_loss);
  CHECK(g22.run.stall_step == -1);
}
