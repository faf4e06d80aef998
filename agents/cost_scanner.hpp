#pragma once
/// Finds cost reports in a unit's output.
///
/// A unit reports what it spent by printing a line `SF_COST <number>` (for example
/// `SF_COST 0.42`): the number is in USD, from 0 to `max_cost_usd` (config/cost.hpp), and may be
/// followed only by spaces, tabs or a carriage return. Every such line adds to the unit's cost,
/// which is held at `max_cost_usd` (a line reporting more counts as that maximum, so a lying
/// unit still stops at the budget); any other line, including a malformed, negative or infinite
/// cost line, adds nothing. Lines longer than `max_line_bytes` are
/// skipped whole, so a unit cannot make the worker buffer without bound.

#include "agents/line_splitter.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sf::agents {

/// Longest output line kept for scanning; a longer line cannot be a cost report.
constexpr std::size_t max_line_bytes = 64 * 1024;

/// The cost a single line reports, or empty when it is not a valid `SF_COST` line.
std::optional<double> parse_cost_line(std::string_view line);

/// Splits a byte stream into lines and sums the cost lines among them.
class cost_scanner {
public:
  /// Scans the next chunk of output (chunks may split lines anywhere).
  void feed(std::string_view chunk) { lines_.feed(chunk, on_line()); }

  /// Scans a last line that had no trailing newline; call once at end of output.
  void finish() { lines_.finish(on_line()); }

  /// Sum of the costs seen so far, in USD (at most `max_cost_usd`).
  double total() const noexcept { return total_; }

  /// Number of valid cost lines seen so far.
  std::size_t reports() const noexcept { return reports_; }

private:
  line_handler on_line();

  line_splitter lines_{max_line_bytes};
  double total_ = 0;
  std::size_t reports_ = 0;
};

} // namespace sf::agents
