// cli.hpp (internal to the initbench command): what the commands print besides their results:
// progress on stderr, the summary table, and the Python scripts that draw the figures and the
// report page (scripts/plot.py, scripts/report.py).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "initbench/report.hpp"
#include "initbench/runner.hpp"
#include "initbench/trainer.hpp"

namespace initbench::cli {

bool stderr_is_terminal();
std::string clock_text(double seconds);  // "m:ss" or "h:mm:ss"
std::string axes_text(const RunConfig& run);

// Progress on stderr. On a terminal, a bar over the work of every queued step (each step weighed
// by its network's multiply-adds, so that the ETA holds when runs differ in size), redrawn twice a
// second from the trainers' live counts, with runs done, elapsed time, ETA and the latest
// mini-batch loss. Otherwise a line per finished run. Either way a last line with the wall time.
class Progress {
 public:
  Progress() = default;
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { stop(); }

  LiveProgress& live() { return live_; }

  void started(long total, long already) {
    const std::lock_guard<std::mutex> lock(mutex_);
    runs_total_ = total;
    runs_done_ = already;
    if (already > 0)
      std::fprintf(stderr, "initbench: resuming: %ld of %ld runs already complete\n", already,
                   total);
    if (terminal_) ticker_ = std::thread([this] { tick(); });
  }

  void run_done(long done, long total, const RunConfig& run, const RunRecord& record) {
    const std::lock_guard<std::mutex> lock(mutex_);
    runs_done_ = done;
    if (terminal_) {
      draw();
      return;
    }
    std::fprintf(stderr, "initbench: %ld/%ld runs done: run %ld (%s): %s in %.2f s, ETA %s\n", done,
                 total, run.run_index, axes_text(run).c_str(), record.run.status.c_str(),
                 record.timing.wall_seconds, clock_text(eta()).c_str());
    std::fflush(stderr);
  }

  // Ends the bar (its last state stays on screen).
  void stop() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable()) {
      ticker_.join();
      const std::lock_guard<std::mutex> lock(mutex_);
      draw();
      std::fprintf(stderr, "\n");
    }
  }

  // The last line, once every run is complete.
  void finish(const RunnerResult& result) {
    stop();
    std::fprintf(stderr, "initbench: %ld runs in %s wall\n", result.completed - result.skipped,
                 clock_text(elapsed()).c_str());
    std::fflush(stderr);
  }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double fraction() const {
    const double total = live_.work_total.load();
    return total > 0 ? std::min(1.0, live_.work.load() / total) : 0.0;
  }
  double eta() const {
    const double f = fraction();
    return f > 0 ? elapsed() * (1 - f) / f : 0.0;
  }
  void draw() {  // under mutex_
    const int width = 30;
    const double f = fraction();
    const auto filled = static_cast<int>(width * f);
    const std::string loss =
        live_.has_loss.load() ? fmt::format("  loss {:.4g}", live_.loss.load()) : "";
    std::fprintf(stderr, "\r\033[K[%s%s] %3.0f%%  runs %ld/%ld  %s elapsed  ETA %s%s",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), 100 * f,
                 runs_done_, runs_total_, clock_text(elapsed()).c_str(),
                 f > 0 ? clock_text(eta()).c_str() : "--:--", loss.c_str());
    std::fflush(stderr);
  }
  void tick() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      draw();
      wake_.wait_for(lock, std::chrono::milliseconds(500));
    }
  }

  LiveProgress live_;
  bool terminal_ = stderr_is_terminal();
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  long runs_total_ = 0, runs_done_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread ticker_;
};

// The summary table: one row per setting (axes but the seed), mean over seeds.
void print_summary(const CsvTable& summary);

// Why figures cannot be drawn here ("" if they can); plotting a folder (the script's exit status);
// the figures at the end of `run` and `merge` (a failure is said on stderr and changes nothing).
std::string plotting_unavailable();
int plot_folder(const std::string& folder);
void draw_figures(const std::string& folder);

// `initbench report`: scripts/report.py writes the page (default DIR/report.html).
int report_folder(const std::string& folder, const std::string& out, bool force);

}  // namespace initbench::cli
