#pragma once
/// The points where a test harness may change how the reference worker behaves. The shipped
/// worker runs without hooks; the chaos harness's fault worker (chaos/fault_worker.hpp) is the
/// one implementation, so no misbehaviour is compiled into the worker itself.

#include "io/files/status_file.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace sf::worker {

/// What the worker knows when a unit's commit exists.
struct committed_unit {
  const std::string& root;       ///< Project root (holds `.sf/parallel`).
  const std::string& milestone;  ///< The worker's milestone.
  const std::string& unit;       ///< The unit just committed.
  const std::string& commit;     ///< Its commit's sha.
  std::chrono::milliseconds heartbeat; ///< The worker's heartbeat interval.
};

/// Every default keeps the reference worker's own behaviour.
class worker_hooks {
public:
  virtual ~worker_hooks() = default;

  /// True: SIGTERM is ignored instead of stopping the worker between units.
  virtual bool ignores_sigterm() const { return false; }

  /// Called once the milestone's lock is held, before any unit runs.
  virtual void on_locked() {}

  /// The heartbeat interval to use, given the one the preferences ask for.
  virtual std::chrono::milliseconds heartbeat(std::chrono::milliseconds wanted) const {
    return wanted;
  }

  /// The status files one heartbeat writes; the first is reported when it cannot be written.
  virtual std::vector<io::worker_status> published(const io::worker_status& own) const {
    return {own};
  }

  /// False: the worker never stops for the budget on its own.
  virtual bool obeys_budget() const { return true; }

  /// After a unit's commit; `own` is the worker's status, which the hook may change.
  virtual void after_unit(const committed_unit&, io::worker_status& /*own*/) {}
};

} // namespace sf::worker
