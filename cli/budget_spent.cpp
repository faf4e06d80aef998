#include "cli/budget_spent.hpp"

#include "io/files/status_file.hpp"
#include "messages/error.hpp"

#include <algorithm>

namespace sf::cli {

budget_spent count_budget_spent(const std::string& root,
                                const std::map<std::string, reported_cost>& reported) {
  budget_spent out;
  if (auto read = io::read_ledger_record(root)) {
    out.ledger = std::move(*read);
    out.ledger_exists = true;
  } else if (code_of(read.error()) != ec::not_found) {
    out.problem = describe(read.error());
  }
  out.per_milestone = out.ledger.milestone_costs();
  out.per_milestone_tokens = out.ledger.milestone_token_counts();
  for (const auto& [mid, file] : reported) {
    if (file.written_at < out.ledger.period_start)
      continue;
    auto carried = out.ledger.carried.find(mid);
    double beyond = file.cost - (carried == out.ledger.carried.end() ? 0.0 : carried->second);
    out.per_milestone[mid] = std::max(out.per_milestone[mid], beyond);
    if (file.tokens.sum() == 0)
      continue;
    core::token_counts was;
    if (auto c = out.ledger.carried_tokens.find(mid); c != out.ledger.carried_tokens.end())
      was = c->second;
    // Count by count, what the file reports beyond what earlier periods counted (never < 0).
    auto beyond_tokens = core::max_counts(file.tokens, was) - was;
    out.per_milestone_tokens[mid] =
      core::max_counts(out.per_milestone_tokens[mid], beyond_tokens);
  }
  for (const auto& [mid, cost] : out.per_milestone)
    out.total += cost;
  for (const auto& [mid, t] : out.per_milestone_tokens)
    out.total_tokens = out.total_tokens + t;
  return out;
}

std::map<std::string, reported_cost> reported_costs(const std::string& root) {
  std::map<std::string, reported_cost> out;
  for (const auto& mid : io::status_file_milestones(root))
    if (auto st = io::read_status(root, mid))
      out[mid] = {st->cost, st->last_heartbeat, st->tokens.value_or(core::token_counts{})};
  return out;
}

} // namespace sf::cli
