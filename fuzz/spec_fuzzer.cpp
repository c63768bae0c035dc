// spec_fuzzer: TOML text -> parse_experiment, as `initbench run` reads a spec file, with and
// without --quick. A bad spec must end in SpecError or another std::exception with a message;
// anything else (a crash, a sanitizer report, a hang, a huge allocation) is a bug.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "initbench/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const bool quick : {false, true}) {
    try {
      initbench::SpecOptions options;
      options.quick = quick;
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
