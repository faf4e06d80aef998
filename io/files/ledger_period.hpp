#pragma once
/// A new budget period: the ledger of the old one is kept under its own name, and the new
/// ledger starts at zero, remembering what the old periods counted of each running total.

#include <caf/expected.hpp>

#include <cstdint>
#include <string>

namespace sf::io {

/// What `start_budget_period` did.
struct budget_period_reset {
  std::string archive;   ///< Where the old ledger was kept; empty when there was none.
  double old_total = 0;  ///< What the old period had spent.
  int64_t old_start = 0; ///< When the old period began (0 when unknown or none).
  int64_t new_start = 0; ///< When the new one began.
};

/// True for the names of kept ledgers, `ledger-<UTC stamp>.json`.
bool is_ledger_archive_name(const std::string& name);

/// Starts a new period at `now_ms`: copies the ledger durably to `ledger-<UTC stamp>.json`,
/// then replaces `ledger.json` atomically with an empty ledger whose `carried` holds every
/// key's cumulative total so far. A crash in between leaves the old ledger in force (and a
/// copy). The caller must hold the coordinator lock, so no ledger actor writes meanwhile.
caf::expected<budget_period_reset> start_budget_period(const std::string& root, int64_t now_ms);

} // namespace sf::io
