#pragma once
/// budget_ledger: the cost of every worker of a run, their total, and the ceiling.

#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace sf {

/// State of the ledger actor.
struct budget_ledger_state {
  static inline const char* name = "budget_ledger"; ///< Actor name for logs.
  std::string root;                                 ///< Project root (ledger file lives there).
  double ceiling = 0;                               ///< 0 = no ceiling.
  std::map<std::string, double> costs;              ///< Accepted cumulative cost per milestone.
  std::shared_ptr<spdlog::logger> log;              ///< The run's logger.

  /// Sum of `costs`.
  double total() const;
};

/// Behavior of the ledger; loads the persisted ledger of `root` if one exists.
budget_ledger_actor::behavior_type
budget_ledger(budget_ledger_actor::stateful_pointer<budget_ledger_state> self, std::string root,
              double ceiling, std::shared_ptr<spdlog::logger> log);

} // namespace sf
