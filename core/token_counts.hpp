#pragma once
/// token_counts: the tokens an agent used, as workers report them (running totals) and as the
/// ledger, the events and `status` count them.

#include <algorithm>
#include <cstdint>

namespace sf::core {

/// Tokens an agent used: uncached input, output, and input read from the provider's cache.
struct token_counts {
  int64_t input = 0;  ///< Uncached input tokens.
  int64_t output = 0; ///< Output tokens.
  int64_t cached = 0; ///< Cached input tokens.

  /// Input, output and cached together.
  int64_t sum() const { return input + output + cached; }
};

/// Same counts.
inline bool operator==(const token_counts& a, const token_counts& b) {
  return a.input == b.input && a.output == b.output && a.cached == b.cached;
}

/// Some count differs.
inline bool operator!=(const token_counts& a, const token_counts& b) {
  return !(a == b);
}

/// Componentwise sum.
inline token_counts operator+(const token_counts& a, const token_counts& b) {
  return {a.input + b.input, a.output + b.output, a.cached + b.cached};
}

/// Componentwise difference (callers check `covers` first).
inline token_counts operator-(const token_counts& a, const token_counts& b) {
  return {a.input - b.input, a.output - b.output, a.cached - b.cached};
}

/// Every count of `a` is at least that of `b`: a running total that did not go back.
inline bool covers(const token_counts& a, const token_counts& b) {
  return a.input >= b.input && a.output >= b.output && a.cached >= b.cached;
}

/// Componentwise maximum (what two views of one running total agree on at least).
inline token_counts max_counts(const token_counts& a, const token_counts& b) {
  return {std::max(a.input, b.input), std::max(a.output, b.output), std::max(a.cached, b.cached)};
}

} // namespace sf::core
