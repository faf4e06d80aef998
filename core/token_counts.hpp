#pragma once
/// token_counts: the tokens an agent used, as workers report them (running totals) and as the
/// ledger, the events and `status` count them.

#include <algorithm>
#include <cstdint>
#include <limits>

namespace sf::core {

/// `a + b` held within int64_t: an agent that reports absurd counts (near INT64_MAX) must not
/// make a total wrap around to a negative number.
inline int64_t add_counts_capped(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_add_overflow(a, b, &out))
    return out;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

/// Tokens an agent used: uncached input, output, and input read from the provider's cache.
struct token_counts {
  int64_t input = 0;  ///< Uncached input tokens.
  int64_t output = 0; ///< Output tokens.
  int64_t cached = 0; ///< Cached input tokens.

  /// Input, output and cached together.
  int64_t sum() const { return add_counts_capped(add_counts_capped(input, output), cached); }
};

/// Same counts.
inline bool operator==(const token_counts& a, const token_counts& b) {
  return a.input == b.input && a.output == b.output && a.cached == b.cached;
}

/// Some count differs.
inline bool operator!=(const token_counts& a, const token_counts& b) {
  return !(a == b);
}

/// Componentwise sum, held within int64_t.
inline token_counts operator+(const token_counts& a, const token_counts& b) {
  return {add_counts_capped(a.input, b.input), add_counts_capped(a.output, b.output),
          add_counts_capped(a.cached, b.cached)};
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
