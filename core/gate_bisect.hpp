#pragma once
/// gate_bisect: which queued milestones the merge gate tests together next, and what a gate
/// result means for them. Several milestones are tested merged together (`gate_batch`); when
/// such a batch fails, halves are tested until the culprit is found, so milestones that pass
/// still land and only culprits fail. A milestone tested alone is tried twice before it counts
/// as failed (flaky tests). Plain C++, no I/O: the merge queue owns the processes.

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace sf::core {

/// What a gate result asks of the queue.
struct gate_verdict {
  bool land = false;                ///< The batch passed: move main to its merge.
  bool retry = false;               ///< Test the same milestone again (its first failure alone).
  std::vector<std::string> failed;  ///< Milestones that are `gate failed` now.
};

/// The bisection state of the queue's gate.
class gate_bisect {
public:
  /// The milestones to test next, taken in order from `eligible` (those the queue may merge
  /// now): a half of a batch known to fail, the milestone to try again, or up to `batch` of the
  /// first ones.
  std::vector<std::string> next(const std::vector<std::string>& eligible, std::size_t batch);

  /// Takes in the result of testing `tested` (as `next` gave it, possibly cut short by a
  /// conflict) on main as it was.
  gate_verdict record(const std::vector<std::string>& tested, bool passed);

  /// Forgets a milestone that left the queue (merged by hand, replaced by a newer completion).
  void forget(const std::string& id);

  /// Milestones known to fail together (a culprit is among them), in queue order.
  const std::vector<std::string>& suspects() const { return suspects_; }

private:
  std::vector<std::string> suspects_; ///< A failed batch (or its failing part), in order.
  bool known_bad_ = false;            ///< `suspects_` failed together on main as it is.
  std::set<std::string> retried_;     ///< Failed once alone; the next failure is final.
};

} // namespace sf::core
