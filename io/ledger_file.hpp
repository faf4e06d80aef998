#pragma once
/// `.sf/parallel/ledger.json`: the budget ledger's persisted costs.

#include <caf/expected.hpp>

#include <map>
#include <string>

namespace sf::io {

/// Path of the ledger file of `root`.
std::string ledger_path(const std::string& root);

/// Reads the ledger; not_found when there is none.
caf::expected<std::map<std::string, double>> read_ledger(const std::string& root);

/// Writes the ledger durably and atomically.
caf::error write_ledger(const std::string& root, const std::map<std::string, double>& costs);

/// Removes the ledger (a clean end of a run); absent is fine.
caf::error remove_ledger(const std::string& root);

} // namespace sf::io
