#pragma once
/// `.sf/parallel/ledger.json`: the budget ledger's persisted costs.

#include <caf/expected.hpp>

#include <map>
#include <string>
#include <vector>

namespace sf::io {

/// Path of the ledger file of `root`.
std::string ledger_path(const std::string& root);

/// Reads the ledger; not_found when there is none, invalid_input when it is no ledger at all.
/// An entry that is not a valid cost does not sink the others: one above the maximum counts
/// as the maximum (money spent is never forgotten), one that is not a number at all is left
/// out; each is described in `problems` when given.
caf::expected<std::map<std::string, double>> read_ledger(const std::string& root,
                                                         std::vector<std::string>* problems =
                                                           nullptr);

/// Moves an unreadable ledger aside (`ledger.json.bad-<ms>`) so a new one never overwrites
/// it; gives the new name.
caf::expected<std::string> set_ledger_aside(const std::string& root);

/// Writes the ledger durably and atomically.
caf::error write_ledger(const std::string& root, const std::map<std::string, double>& costs);

/// Removes the ledger (a clean end of a run); absent is fine.
caf::error remove_ledger(const std::string& root);

} // namespace sf::io
