#pragma once
/// What an agent run spent: tokens by kind and, when the agent says so, USD.

#include "config/agent_profile.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace sf::agents {

/// Tokens and money of one agent run (or a sum of runs).
///
/// How each adapter fills it: Claude `input` = `input_tokens + cache_creation_input_tokens`,
/// `cached` = `cache_read_input_tokens`; Codex `input` = `input_tokens - cached_input_tokens`,
/// `cached` = `cached_input_tokens`; aider `input` = sent + cache write, `cached` = cache hit.
struct agent_usage {
  std::int64_t input = 0;    ///< Uncached input tokens (cache writes count here).
  std::int64_t output = 0;   ///< Output tokens.
  std::int64_t cached = 0;   ///< Input tokens read from the provider's cache.
  std::optional<double> usd; ///< USD as the agent reported it; empty when it reports none.

  /// True when no tokens are counted and no USD is known.
  bool empty() const noexcept { return input == 0 && output == 0 && cached == 0 && !usd; }

  /// Adds `other`; USD is known afterwards when either side knew it (the other counts as 0).
  agent_usage& operator+=(const agent_usage& other);
};

/// `a + b` (see `agent_usage::operator+=`).
agent_usage operator+(agent_usage a, const agent_usage& b);

/// Equal tokens and equal USD (both unknown, or the same number).
bool operator==(const agent_usage& a, const agent_usage& b);

/// What was spent between two cumulative snapshots of one thread: `now - before`, each field
/// held at 0 (a snapshot never shrinks; a smaller one means a different thread, so all of
/// `now` counts). USD is `now`'s minus `before`'s when both know it, else `now`'s. Codex
/// reports its thread's total on every run: a resumed thread's own spend is this difference.
agent_usage usage_since(const agent_usage& now, const agent_usage& before);

/// The price of `model` in `prices`: the entry of that exact name, else the longest entry
/// whose name followed by `-` starts the model's (`claude-sonnet-4-5` prices
/// `claude-sonnet-4-5-20250929`); nullptr when none fits.
const token_price* find_price(const std::string& model,
                              const std::map<std::string, token_price>& prices);

/// USD of `usage`'s tokens at `model`'s price (USD per million tokens of each kind); empty
/// when the model has no price (the caller shows "price missing"). Ignores `usage.usd`;
/// held at `max_cost_usd`.
std::optional<double> price_usd(const agent_usage& usage, const std::string& model,
                                const std::map<std::string, token_price>& prices);

/// The USD a run costs: what the agent reported, else its tokens priced, else empty.
std::optional<double> cost_usd(const agent_usage& usage, const std::string& model,
                               const std::map<std::string, token_price>& prices);

} // namespace sf::agents
