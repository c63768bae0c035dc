// doctest's main, with one addition: a run filtered by --test-case (as ctest runs each test case)
// that matches no test case fails. doctest itself passes it, which hid test cases whose names
// hold a ';' (CMake splits the name there, and the truncated filter matched nothing).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string_view>

namespace {

unsigned g_matched = 0;
bool g_finished = false;

struct MatchCounter : doctest::IReporter {
  explicit MatchCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    g_matched = stats.numTestCasesPassingFilters;
    g_finished = true;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("match_counter", 1, MatchCounter);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit() || result != 0 || !g_finished) return result;
  bool filtered = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    filtered = filtered || arg.starts_with("--test-case=") || arg.starts_with("-tc=");
  }
  if (filtered && g_matched == 0) {
    std::fprintf(stderr, "%s: no test case matches the --test-case filter\n", argv[0]);
    return 1;
  }
  return result;
}
