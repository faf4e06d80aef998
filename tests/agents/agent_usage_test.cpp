// Token sums, thread snapshots and prices (agents/agent_usage.hpp).
#include "agents/agent_usage.hpp"

#include <catch2/catch.hpp>

using sf::token_price;
using sf::agents::agent_usage;

namespace {

agent_usage tokens(std::int64_t in, std::int64_t out, std::int64_t cached) {
  agent_usage u;
  u.input = in;
  u.output = out;
  u.cached = cached;
  return u;
}

} // namespace

TEST_CASE("usage adds tokens, and USD when either side knows it", "[agents][usage]") {
  auto a = tokens(10, 2, 100);
  auto b = tokens(5, 1, 50);
  auto sum = a + b;
  CHECK(sum == tokens(15, 3, 150));
  CHECK_FALSE(sum.usd);
  b.usd = 0.25;
  sum = a + b;
  CHECK(sum.usd == 0.25);
  sum += b;
  CHECK(*sum.usd == Approx(0.5));
  CHECK(agent_usage{}.empty());
  CHECK_FALSE(a.empty());
}

TEST_CASE("usage since a snapshot: the difference, or all of it for another thread",
          "[agents][usage]") {
  auto before = tokens(100, 10, 1000);
  auto now = tokens(250, 30, 1600);
  CHECK(sf::agents::usage_since(now, before) == tokens(150, 20, 600));
  // A smaller snapshot is a new thread: nothing of it was counted before.
  CHECK(sf::agents::usage_since(tokens(50, 40, 2000), before) == tokens(50, 40, 2000));
  now.usd = 0.9;
  before.usd = 0.4;
  CHECK(*sf::agents::usage_since(now, before).usd == Approx(0.5));
  before.usd.reset();
  CHECK(sf::agents::usage_since(now, before).usd == 0.9);
}

TEST_CASE("prices: exact name first, else the longest name before a dash", "[agents][usage]") {
  std::map<std::string, token_price> prices{
      {"claude-sonnet-4-5", {3, 15, 0.3}},
      {"claude-sonnet", {1, 1, 1}},
      {"gpt-5-codex", {1.25, 10, 0.125}},
  };
  CHECK(sf::agents::find_price("gpt-5-codex", prices) == &prices["gpt-5-codex"]);
  CHECK(sf::agents::find_price("claude-sonnet-4-5-20250929", prices) ==
        &prices["claude-sonnet-4-5"]);
  CHECK(sf::agents::find_price("claude-sonnet-3", prices) == &prices["claude-sonnet"]);
  CHECK(sf::agents::find_price("claude-sonnet-4-5x", prices) == &prices["claude-sonnet"]);
  CHECK(sf::agents::find_price("claude-sonnetx", prices) == nullptr);
  CHECK(sf::agents::find_price("", prices) == nullptr);
  CHECK(sf::agents::find_price("o3", prices) == nullptr);
}

TEST_CASE("price_usd prices each kind per million tokens; empty without a price",
          "[agents][usage]") {
  std::map<std::string, token_price> prices{{"gpt-5-codex", {1.25, 10, 0.125}}};
  auto u = tokens(2'000'000, 500'000, 4'000'000);
  auto usd = sf::agents::price_usd(u, "gpt-5-codex", prices);
  REQUIRE(usd);
  CHECK(*usd == Approx(2.5 + 5 + 0.5));
  CHECK_FALSE(sf::agents::price_usd(u, "unknown-model", prices));
  // The reported USD is not a price: price_usd ignores it, cost_usd prefers it.
  u.usd = 0.01;
  CHECK(*sf::agents::price_usd(u, "gpt-5-codex", prices) == Approx(8.0));
  CHECK(sf::agents::cost_usd(u, "gpt-5-codex", prices) == 0.01);
  u.usd.reset();
  CHECK(*sf::agents::cost_usd(u, "gpt-5-codex", prices) == Approx(8.0));
  CHECK_FALSE(sf::agents::cost_usd(u, "unknown-model", prices));
  // Absurd counts from a lying agent stay a valid cost.
  CHECK(*sf::agents::price_usd(tokens(INT64_MAX, INT64_MAX, 0), "gpt-5-codex", prices) == 1e6);
}
