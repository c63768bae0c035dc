// initbench: the command-line tool. For now it runs the course demonstration (the
// deeplearning.ai initialization exercise) and prints one row per scheme.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "initbench/data.hpp"
#include "initbench/init.hpp"
#include "initbench/mlp.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/text.hpp"

namespace {

using initbench::Index;

struct Eval {
  double loss;
  double accuracy;
};

template <typename T>
Eval evaluate(const initbench::Mlp<T>& net, initbench::Workspace<T>& ws,
              const initbench::Matrix<double>& X, const initbench::Matrix<double>& Y) {
  const Index n = X.cols();
  ws.input(n) = X.cast<T>();
  ws.target(n) = Y.cast<T>();
  net.forward(ws, n);
  const auto correct = net.count_correct(ws, n);
  return {net.loss(ws, n),
          static_cast<double>(correct.correct) / static_cast<double>(correct.total)};
}

int course_demo() {
  const auto data = initbench::make_circles(300, 100, 0.05, 1);
  initbench::MlpConfig config{
      {2, 10, 5, 1}, initbench::Activation::parse("relu"), initbench::Output::kSigmoid};
  const std::vector<std::string> schemes{"zeros", "normal(stddev=10)", "lecun_normal",
                                         "glorot_normal", "he_normal"};
  const int steps = 15000;
  fmt::print(
      "Course network [2, 10, 5, 1], relu/sigmoid, circles 300/100, full-batch GD lr 0.01, {} "
      "steps\n\n",
      steps);
  fmt::print("{:<20} {:>12} {:>12} {:>10} {:>10}\n", "scheme", "initial cost", "final cost",
             "train acc", "test acc");
  for (const auto& text : schemes) {
    initbench::Mlp<double> net(config, 300);
    initbench::InitConfig init{initbench::Scheme::parse(text), "zeros", 1.0};
    initbench::initialize(net, init, 1, 0);
    initbench::Optimizer<double> opt({initbench::OptimizerKind::kSgd, 0.01}, config);
    initbench::Workspace<double> eval_ws(config, 300);
    const double initial = evaluate(net, eval_ws, data.X_train, data.Y_train).loss;
    net.workspace().input(300) = data.X_train;
    net.workspace().target(300) = data.Y_train;
    for (int step = 0; step < steps; ++step) {
      net.forward(300);
      net.backward(300);
      opt.step(net.params(), net.grads());
    }
    const Eval train = evaluate(net, eval_ws, data.X_train, data.Y_train);
    const Eval test = evaluate(net, eval_ws, data.X_test, data.Y_test);
    fmt::print("{:<20} {:>12.4f} {:>12.4f} {:>10.3f} {:>10.3f}\n", text, initial, train.loss,
               train.accuracy, test.accuracy);
  }
  return 0;
}

}  // namespace

int main() {
  try {
    return course_demo();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "initbench: error: %s\n", e.what());
    return 1;
  }
}
