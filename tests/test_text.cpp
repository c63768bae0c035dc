#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "initbench/rng.hpp"
#include "initbench/text.hpp"

using namespace initbench;

TEST_CASE("parse_call: names, positional and named arguments") {
  auto c = parse_call(" he_normal ( mode = fan_out , slope=0.2 ) ");
  CHECK(c.name == "he_normal");
  REQUIRE(c.args.size() == 2);
  CHECK(c.args[0] == std::pair<std::string, std::string>{"mode", "fan_out"});
  CHECK(c.args[1] == std::pair<std::string, std::string>{"slope", "0.2"});
  CHECK(parse_call("zeros").args.empty());
  CHECK(parse_call("zeros()").args.empty());
  auto p = parse_call("constant(0.5)");
  REQUIRE(p.args.size() == 1);
  CHECK(p.args[0].first.empty());
  CHECK(p.args[0].second == "0.5");
  CHECK_THROWS_AS(parse_call("he_normal(mode=fan_in"), std::invalid_argument);
  CHECK_THROWS_AS(parse_call("he normal"), std::invalid_argument);
  CHECK_THROWS_AS(parse_call("f(a=)"), std::invalid_argument);
  CHECK_THROWS_AS(parse_call("f(a,,b)"), std::invalid_argument);
  CHECK_THROWS_AS(parse_call(""), std::invalid_argument);
}

TEST_CASE("did_you_mean suggests close names only") {
  const std::vector<std::string> names{"he_normal", "he_uniform", "glorot_normal", "zeros"};
  CHECK(did_you_mean("he_norml", names) == " (did you mean 'he_normal'?)");
  CHECK(did_you_mean("zeroes", names) == " (did you mean 'zeros'?)");
  CHECK(did_you_mean("completely_different", names).empty());
}

TEST_CASE("format_number round-trips doubles and floats, and writes nan/inf as pandas reads them") {
  Rng rng(5);
  for (int i = 0; i < 10000; ++i) {
    const double x = std::ldexp(rng.normal(), static_cast<int>(rng.below(200)) - 100);
    REQUIRE(*parse_double(format_number(x)) == x);
    const auto f = static_cast<float>(x);
    REQUIRE(static_cast<float>(*parse_double(format_number(f))) == f);
  }
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(std::nan("")) == "nan");
  CHECK(format_number(HUGE_VAL) == "inf");
  CHECK(format_number(-HUGE_VAL) == "-inf");
  CHECK(format_number(0.1f) == "0.1");
}

TEST_CASE("parse_double rejects trailing garbage") {
  CHECK(parse_double("1e-3").value() == 1e-3);
  CHECK(parse_double(" 2 ").value() == 2.0);
  CHECK(std::isinf(*parse_double("inf")));
  CHECK(std::isnan(*parse_double("nan")));
  CHECK_FALSE(parse_double("1.5x").has_value());
  CHECK_FALSE(parse_double("").has_value());
  CHECK_FALSE(parse_double("abc").has_value());
}
