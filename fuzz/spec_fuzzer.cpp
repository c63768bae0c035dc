// spec_fuzzer: TOML text -> parse_experiment, as `initbench run` reads a spec file, with and
// without --quick. Comment lines "#set key=value" become --set overrides, so that the fuzzer
// mutates those too (the TOML parser skips them). A bad spec must end in SpecError or another
// std::exception with a message; anything else (a crash, a sanitizer report, a hang, a huge
// allocation) is a bug.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "initbench/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (line.starts_with("#set ")) overrides.emplace_back(line.substr(5));
    start = end + 1;
  }
  for (const bool quick : {false, true}) {
    try {
      initbench::SpecOptions options;
      options.quick = quick;
      options.overrides = overrides;
      const initbench::Experiment e = initbench::parse_experiment(text, "fuzz.toml", options);
      // What `run` writes as spec.toml must parse back to the same grid.
      const initbench::Experiment again =
          initbench::parse_experiment(e.resolved, "fuzz-resolved.toml");
      if (again.runs.size() != e.runs.size() || again.resolved != e.resolved) __builtin_trap();
    } catch (const std::exception&) {
    }
  }
  return 0;
}
