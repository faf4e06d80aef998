#include "worker/cost_scanner.hpp"

#include "config/cost.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sf::worker {

std::optional<double> parse_cost_line(std::string_view line) {
  constexpr std::string_view prefix = "SF_COST ";
  if (line.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  auto rest = line.substr(prefix.size());
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\r'))
    rest.remove_suffix(1);
  if (rest.empty())
    return std::nullopt;
  double value = 0;
  // from_chars ignores the locale and never accepts a leading '+', hex or trailing junk.
  auto [ptr, err] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (err != std::errc{} || ptr != rest.data() + rest.size())
    return std::nullopt;
  // A finite cost past the maximum is money reported all the same: it counts as the maximum,
  // never as nothing. Negative and NaN are no cost at all.
  if (std::isnan(value) || value < 0 || std::isinf(value))
    return std::nullopt;
  return std::min(value, max_cost_usd);
}

void cost_scanner::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    auto piece = chunk.substr(0, nl);
    if (!overlong_) {
      if (line_.size() + piece.size() > max_line_bytes) {
        // Drop what we have: the rest of this line is skipped up to its newline.
        overlong_ = true;
        line_.clear();
        line_.shrink_to_fit();
      } else {
        line_.append(piece);
      }
    }
    if (nl == std::string_view::npos)
      return;
    end_line();
    chunk.remove_prefix(nl + 1);
  }
}

void cost_scanner::finish() {
  if (!line_.empty() || overlong_)
    end_line();
}

void cost_scanner::end_line() {
  if (!overlong_) {
    if (auto cost = parse_cost_line(line_)) {
      // Many valid lines may add up past the maximum: a unit costs at most that.
      total_ = add_costs_capped(total_, *cost);
      ++reports_;
    }
  }
  overlong_ = false;
  line_.clear();
}

} // namespace sf::worker
