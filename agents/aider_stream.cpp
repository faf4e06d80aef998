// aider's plain-text output and its usage reports (AGENTS.md section 3):
//   Tokens: 8.4k sent, 612 received. Cost: $0.03 message, $0.11 session.
//   Tokens: 2.1k sent, 1.1k cache write, 15k cache hit, 388 received.
//   Cost: $0.0093 message, $0.0093 session.
#include "agents/adapter_streams.hpp"
#include "agents/readable_text.hpp"

#include "config/cost.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sf::agents {

namespace {

// aider prints `612`, `8.4k`, `15k` (and, for huge counts, `1234k`); `M` is accepted too.
std::optional<std::int64_t> parse_count(std::string_view s) {
  double scale = 1;
  if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) {
    scale = 1e3;
    s.remove_suffix(1);
  } else if (!s.empty() && s.back() == 'M') {
    scale = 1e6;
    s.remove_suffix(1);
  }
  double v = 0;
  auto [ptr, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || err != std::errc{} || ptr != s.data() + s.size() || !(v >= 0) ||
      v * scale > 1e15)
    return std::nullopt;
  return static_cast<std::int64_t>(std::llround(v * scale));
}

// `$0.0093` as USD.
std::optional<double> parse_dollars(std::string_view s) {
  if (s.empty() || s.front() != '$')
    return std::nullopt;
  s.remove_prefix(1);
  double v = 0;
  auto [ptr, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (err != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v) || v < 0)
    return std::nullopt;
  return std::min(v, max_cost_usd);
}

// Calls `part` for each ", "-separated piece of `list` (a trailing '.' removed).
template <class F> void for_each_part(std::string_view list, F part) {
  if (!list.empty() && list.back() == '.')
    list.remove_suffix(1);
  while (!list.empty()) {
    auto comma = list.find(", ");
    part(list.substr(0, comma));
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 2);
  }
}

class aider_stream final : public agent_stream {
protected:
  void on_line(std::string_view line) override {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.empty())
      return;
    ++report_.events;
    constexpr std::string_view tokens = "Tokens: ", cost = "Cost: ";
    constexpr std::string_view inline_cost = ". Cost: ";
    if (line.substr(0, tokens.size()) == tokens) {
      auto rest = line.substr(tokens.size());
      auto at = rest.find(inline_cost);
      read_tokens(rest.substr(0, at == std::string_view::npos ? rest.size() : at + 1));
      if (at != std::string_view::npos)
        read_cost(rest.substr(at + inline_cost.size()));
    } else if (line.substr(0, cost.size()) == cost) {
      read_cost(line.substr(cost.size()));
    } else {
      set_activity(line);
    }
    plain_line(line);
  }

private:
  void read_tokens(std::string_view list) {
    for_each_part(list, [this](std::string_view part) {
      auto space = part.find(' ');
      if (space == std::string_view::npos)
        return;
      auto n = parse_count(part.substr(0, space));
      auto label = part.substr(space + 1);
      if (!n)
        return;
      if (label == "sent" || label == "cache write")
        report_.usage.input += *n;
      else if (label == "cache hit")
        report_.usage.cached += *n;
      else if (label == "received")
        report_.usage.output += *n;
    });
  }

  // "session" is this process's running total: the last one is what the run cost.
  void read_cost(std::string_view list) {
    for_each_part(list, [this](std::string_view part) {
      constexpr std::string_view session = " session";
      if (part.size() > session.size() && part.substr(part.size() - session.size()) == session)
        if (auto usd = parse_dollars(part.substr(0, part.size() - session.size())))
          report_.usage.usd = usd;
    });
  }
};

} // namespace

std::unique_ptr<agent_stream> make_aider_stream() {
  return std::make_unique<aider_stream>();
}

} // namespace sf::agents
