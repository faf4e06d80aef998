// The plain-text parsers: aider's `Tokens:`/`Cost:` reports and the generic `SF_COST` lines.
#include "agents/stream_test_util.hpp"

#include <catch2/catch.hpp>

#include <string>

using sf::agent_adapter;
using sf::test::parsed_stream;

namespace {

// An aider run with both report forms (../shared/AGENTS.md section 3).
const std::string aider_run =
    "Aider v0.86.1\n"
    "Main model: gpt-4o with diff edit format\n"
    "I initialised the counter.\n"
    "Applied edit to src/parse.cc\n"
    "Tokens: 8.4k sent, 612 received. Cost: $0.03 message, $0.11 session.\n"
    "Tokens: 2.1k sent, 1.1k cache write, 15k cache hit, 388 received.\n"
    "Cost: $0.0093 message, $0.1193 session.\n";

} // namespace

TEST_CASE("aider: tokens are summed over reports and USD is the last session figure",
          "[agents][aider]") {
  parsed_stream p(agent_adapter::aider);
  const auto& r = p.read(aider_run);
  CHECK(r.usage.input == 8400 + 2100 + 1100);
  CHECK(r.usage.cached == 15000);
  CHECK(r.usage.output == 612 + 388);
  REQUIRE(r.usage.usd);
  CHECK(*r.usage.usd == Approx(0.1193));
  CHECK(r.session_id.empty());
  CHECK_FALSE(r.finished);
  CHECK(r.result.empty());
  CHECK(r.activity == "Applied edit to src/parse.cc");
  CHECK(p.said("Applied edit to src/parse.cc"));
  CHECK(p.said("Cost: $0.0093 message, $0.1193 session."));
  CHECK(p.transcript.size() == 7);
}

TEST_CASE("aider: reports without a price, large counts, CRLF and splits", "[agents][aider]") {
  auto r = sf::test::read_whole(
      agent_adapter::aider, "Tokens: 2.4k sent, 16 received.\nTokens: 1234k sent, 999 received.");
  CHECK(r.usage.input == 2400 + 1234000);
  CHECK(r.usage.output == 16 + 999);
  CHECK_FALSE(r.usage.usd);
  // Junk in a report is ignored, the rest of the report still counts.
  r = sf::test::read_whole(agent_adapter::aider,
                           "Tokens: lots sent, 5 received. Cost: $x message, $0.00 session.\n");
  CHECK(r.usage.input == 0);
  CHECK(r.usage.output == 5);
  CHECK(r.usage.usd == 0.0);

  sf::test::check_every_split(agent_adapter::aider, sf::test::with_crlf(aider_run));
  sf::test::check_same(sf::test::read_whole(agent_adapter::aider, sf::test::with_crlf(aider_run)),
                       sf::test::read_whole(agent_adapter::aider, aider_run));
}

TEST_CASE("generic: SF_COST lines are the USD; other lines are the activity", "[agents][generic]") {
  parsed_stream p(agent_adapter::generic);
  const auto& r =
      p.read("working on it\nSF_COST 0.25\nSF_COST bogus\nstill working\r\nSF_COST 0.5");
  REQUIRE(r.usage.usd);
  CHECK(*r.usage.usd == Approx(0.75));
  CHECK(r.usage.input == 0);
  CHECK(r.activity == "still working");
  CHECK(p.said("still working"));
  CHECK(p.said("SF_COST 0.25"));
  CHECK(r.last_plain_line == "SF_COST 0.5");
  auto none = sf::test::read_whole(agent_adapter::generic, "no cost here\n");
  CHECK_FALSE(none.usage.usd);
  CHECK(none.activity == "no cost here");
}
