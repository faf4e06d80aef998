#pragma once
/// What the current budget period has spent, as `status`, `budget` and `start` count it.

#include "io/files/ledger_file.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace sf::cli {

/// A status file's running total and when it was written.
struct reported_cost {
  double cost = 0;       ///< USD.
  int64_t written_at = 0; ///< Its `lastHeartbeat`, ms since the Unix epoch.
  core::token_counts tokens; ///< Its running token totals (0 when it reports none).
};

/// The period's spending.
struct budget_spent {
  io::ledger_record ledger;              ///< The ledger file (empty when there is none).
  bool ledger_exists = false;            ///< A ledger file was read.
  std::map<std::string, double> per_milestone; ///< Spent per milestone in this period.
  double total = 0;                      ///< Sum of `per_milestone`.
  /// Tokens per milestone in this period, counted as the costs are.
  std::map<std::string, core::token_counts> per_milestone_tokens;
  core::token_counts total_tokens;       ///< Sum of `per_milestone_tokens`.
  std::string problem;                   ///< Why the ledger could not be read; empty if it could.
};

/// The ledger's period costs (and tokens), each milestone raised to what its status file reports beyond
/// what earlier periods counted (the ledger lags a worker's file by the coordinator's
/// processing). `reported` maps milestones to their status files; a file written before the
/// period began is an earlier period's, all counted there.
budget_spent count_budget_spent(const std::string& root,
                                const std::map<std::string, reported_cost>& reported);

/// The running totals of every readable status file of `root`.
std::map<std::string, reported_cost> reported_costs(const std::string& root);

} // namespace sf::cli
