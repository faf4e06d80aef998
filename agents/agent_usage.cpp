#include "agents/agent_usage.hpp"

#include "config/cost.hpp"
#include "core/token_counts.hpp"

#include <algorithm>

namespace sf::agents {

agent_usage& agent_usage::operator+=(const agent_usage& other) {
  input = core::add_counts_capped(input, other.input);
  output = core::add_counts_capped(output, other.output);
  cached = core::add_counts_capped(cached, other.cached);
  if (other.usd)
    usd = usd.value_or(0) + *other.usd;
  return *this;
}

agent_usage operator+(agent_usage a, const agent_usage& b) {
  a += b;
  return a;
}

bool operator==(const agent_usage& a, const agent_usage& b) {
  return a.input == b.input && a.output == b.output && a.cached == b.cached && a.usd == b.usd;
}

agent_usage usage_since(const agent_usage& now, const agent_usage& before) {
  // A thread whose snapshot went down is not the one `before` was taken from.
  if (now.input < before.input || now.output < before.output || now.cached < before.cached)
    return now;
  agent_usage d;
  d.input = now.input - before.input;
  d.output = now.output - before.output;
  d.cached = now.cached - before.cached;
  if (now.usd && before.usd)
    d.usd = std::max(0.0, *now.usd - *before.usd);
  else
    d.usd = now.usd;
  return d;
}

const token_price* find_price(const std::string& model,
                              const std::map<std::string, token_price>& prices) {
  if (model.empty())
    return nullptr;
  if (auto it = prices.find(model); it != prices.end())
    return &it->second;
  const token_price* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [name, price] : prices) {
    bool prefix = !name.empty() && name.size() < model.size() &&
                  model.compare(0, name.size(), name) == 0 && model[name.size()] == '-';
    if (prefix && name.size() > best_len) {
      best = &price;
      best_len = name.size();
    }
  }
  return best;
}

std::optional<double> price_usd(const agent_usage& usage, const std::string& model,
                                const std::map<std::string, token_price>& prices) {
  const token_price* p = find_price(model, prices);
  if (!p)
    return std::nullopt;
  constexpr double per_million = 1e-6;
  double usd =
      (static_cast<double>(usage.input) * p->input + static_cast<double>(usage.output) * p->output +
       static_cast<double>(usage.cached) * p->cached) *
      per_million;
  // Token counts come from the agent: a lying one must not make a sum overflow.
  return std::clamp(usd, 0.0, max_cost_usd);
}

std::optional<double> cost_usd(const agent_usage& usage, const std::string& model,
                               const std::map<std::string, token_price>& prices) {
  if (usage.usd)
    return usage.usd;
  return price_usd(usage, model, prices);
}

} // namespace sf::agents
