#pragma once
/// budget_ledger: the cost of every worker in the current budget period (all runs since the
/// last `sf-actors budget reset`), their total, and the ceiling.

#include "io/files/ledger_file.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

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
  io::ledger_record ledger;                         ///< What ledger.json holds.
  std::shared_ptr<spdlog::logger> log;              ///< The run's logger.
};

/// Behavior of the ledger; loads the persisted ledger of `root` if one exists.
budget_ledger_actor::behavior_type
budget_ledger(budget_ledger_actor::stateful_pointer<budget_ledger_state> self, std::string root,
              double ceiling, std::shared_ptr<spdlog::logger> log);

} // namespace sf
