// spec.cpp: the entry points: a spec file or text to an Experiment.
#include "initbench/spec.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <variant>

#include "initbench/activation.hpp"
#include "initbench/data.hpp"
#include "initbench/init.hpp"
#include "initbench/loss.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "internal.hpp"

namespace initbench {

using namespace spec_internal;

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

namespace {

// Messages quote what the user wrote, which may hold line breaks (a TOML "\n" escape, toml++'s
// "saw '<newline>'"); errors are one line.
std::string one_line(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

Experiment parse(const std::string& text, const std::string& source, const SpecOptions& options) {
  const toml::table root = parse_toml(text, source);
  const Source file{source, true};
  std::map<std::string, std::string> headers;
  std::vector<Entry> entries = read_table(root, file, false, headers);
  check_alternatives(entries, "");
  // The file's zips hold for the file as written, and again once [quick] and --set are merged.
  const std::vector<Zip> zips = read_zips(root, file);
  check_zips(entries, zips);

  // [quick] is read and checked always, applied only with options.quick.
  if (const toml::node* quick = root.get("quick")) {
    if (!quick->is_table()) {
      throw SpecError(fmt::format("{}: quick must be a table ([quick]), got {}",
                                  file.where(quick->source()), node_description(*quick)));
    }
    std::map<std::string, std::string> quick_headers;
    std::vector<Entry> quick_entries = read_table(*quick->as_table(), file, true, quick_headers);
    check_alternatives(quick_entries, "quick.");
    if (options.quick) merge(entries, std::move(quick_entries));
  }
  for (const std::string& text_override : options.overrides) {
    std::vector<Entry> one;
    one.push_back(read_override(text_override));
    merge(entries, std::move(one));
  }
  check_required(entries, source, headers);

  Experiment experiment;
  experiment.path = source;
  experiment.name = find_entry(entries, "name")->values.front().string();
  if (const Entry* d = find_entry(entries, "description")) {
    experiment.description = d->values.front().string();
  }
  for (const Entry& e : entries) {
    if (e.axis) experiment.axes.push_back(e.key->dotted());
  }
  for (const Entry& e : entries) experiment.places[e.key->dotted()] = e.where;
  for (const Zip& zip : zips) experiment.zips.push_back(zip.keys);
  experiment.runs = expand(entries, zips, source);
  experiment.resolved = resolved_text(entries, zips);
  experiment.has_quick = root.get("quick") != nullptr;
  return experiment;
}

}  // namespace

std::string Experiment::place(const std::vector<std::string>& keys) const {
  for (const std::string& key : keys) {
    if (auto it = places.find(key); it != places.end()) return it->second;
  }
  return path;
}

std::vector<std::pair<std::string, std::string>> run_settings(const RunConfig& run) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Key& key : keys()) {
    if (key.section.empty()) continue;
    std::string dotted = key.dotted();
    const auto written = run.written.find(dotted);
    std::string value = written != run.written.end() ? written->second
                        : key.read                   ? key.read(run)
                                                     : "";
    out.emplace_back(std::move(dotted), std::move(value));
  }
  return out;
}

std::vector<std::string> setting_names() {
  std::vector<std::string> out;
  for (const Key& key : keys()) {
    if (!key.section.empty()) out.push_back(key.dotted());
  }
  return out;
}

Experiment parse_experiment(const std::string& text, const std::string& source,
                            const SpecOptions& options) {
  try {
    return parse(text, source, options);
  } catch (const SpecError& e) {
    throw SpecError(one_line(e.what()));
  }
}

Experiment load_experiment(const std::string& path, const SpecOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw SpecError(fmt::format("{}: cannot read: it is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpecError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw SpecError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return parse_experiment(text.str(), path, options);
}

}  // namespace initbench
