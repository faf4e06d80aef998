#pragma once
/// `.sf/parallel/ledger.json`: the budget ledger's persisted costs of the current budget period.
///
/// The file outlives runs: the ceiling covers every run of the project until
/// `sf-actors budget reset` starts a new period (see ledger_period.hpp).

#include "core/token_counts.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sf::io {

/// What the ledger file holds.
struct ledger_record {
  /// Spent in this period, per key ("<MID>" or "<MID>/<session>").
  std::map<std::string, double> costs;
  /// Per key, the cumulative cost a worker had reported when the period began: workers report
  /// running totals, and what earlier periods counted is not spent again in this one.
  std::map<std::string, double> carried;
  /// When the period began (ms since the Unix epoch); 0 when the file does not say.
  int64_t period_start = 0;
  /// Tokens used in this period, per key as `costs` (absent in older files: none).
  std::map<std::string, core::token_counts> tokens;
  /// Per key, the running token totals reported when the period began (as `carried`).
  std::map<std::string, core::token_counts> carried_tokens;

  /// Sum of `costs`.
  double total() const;
  /// Spent on milestone `mid`: the sum of its keys.
  double milestone_cost(const std::string& mid) const;
  /// Spent per milestone (keys folded by their milestone).
  std::map<std::string, double> milestone_costs() const;
  /// Sum of `tokens`.
  core::token_counts total_tokens() const;
  /// Tokens of milestone `mid`: the sum of its keys.
  core::token_counts milestone_tokens(const std::string& mid) const;
  /// Tokens per milestone (keys folded by their milestone).
  std::map<std::string, core::token_counts> milestone_token_counts() const;
};

/// Largest ledger file read.
constexpr std::size_t max_ledger_bytes = 4 << 20;

/// Path of the ledger file of `root`.
std::string ledger_path(const std::string& root);

/// Reads the ledger; not_found when there is none, invalid_input when it is no ledger at all.
/// An entry that is not a valid cost does not sink the others: one above the maximum counts
/// as the maximum (money spent is never forgotten), one that is not a number at all is left
/// out; each is described in `problems` when given.
caf::expected<ledger_record> read_ledger_record(const std::string& root,
                                                std::vector<std::string>* problems = nullptr);

/// Parses ledger text as `read_ledger_record` does; `path` is for messages.
caf::expected<ledger_record> parse_ledger_record(const std::string& text, const std::string& path,
                                                 std::vector<std::string>* problems = nullptr);

/// The costs of `read_ledger_record`.
caf::expected<std::map<std::string, double>> read_ledger(const std::string& root,
                                                         std::vector<std::string>* problems =
                                                           nullptr);

/// Moves an unreadable ledger aside (`ledger.json.bad-<ms>`) so a new one never overwrites
/// it; gives the new name.
caf::expected<std::string> set_ledger_aside(const std::string& root);

/// Writes the ledger durably and atomically.
caf::error write_ledger_record(const std::string& root, const ledger_record& rec);

/// Writes a ledger holding only `costs`, its period starting now.
caf::error write_ledger(const std::string& root, const std::map<std::string, double>& costs);

} // namespace sf::io
