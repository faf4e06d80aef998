#pragma once
/// Prints run events as progress lines and tells the main thread when the run has finished.

#include "core/milestone_state.hpp"
#include "io/os/safe_file.hpp"
#include "messages/interfaces.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace sf::cli {

/// A milestone's event line after its id: `state: text`, or the text alone when it already
/// opens with the state (no "complete: complete, ...").
std::string state_line(const std::string& state, const std::string& text);

/// Shared between the sink actor (which prints) and the main thread (which waits).
class event_printer {
public:
  /// Prints progress lines to `out`; with `ndjson`, each event as its event-log line instead
  /// (docs/schemas/event.schema.json), stamped when it is printed.
  explicit event_printer(std::ostream& out, bool ndjson = false);

  /// Prints one event and records the outcome.
  void print(const run_event& ev);

  /// Readable once the run has finished (an eventfd).
  int done_fd() const { return done_.get(); }

  /// True once a `finished` event arrived.
  bool finished() const { return finished_.load(); }

  /// Exit code for the run's outcome (0, budget reached, or failure).
  int exit_code() const { return exit_code_.load(); }

  /// Readable while milestones wait for a merge confirmation (an eventfd).
  int confirm_fd() const { return confirm_.get(); }

  /// Takes the milestones waiting for a confirmation.
  std::vector<std::string> take_confirmations();

  /// While a question waits on the terminal its line stays whole: progress lines are held back
  /// from here until `end_question`, which prints them.
  void begin_question();
  void end_question();

  /// The last state each milestone's events gave, by id.
  std::map<std::string, core::milestone_state> final_states() const;

  /// The `finished` event, once it arrived (its text and the run's total cost).
  run_event finish() const;

private:
  std::ostream discard_{nullptr}; // Takes the progress lines when they are not wanted.
  std::ostream& out_;
  std::ostream* ndjson_;
  mutable std::mutex mtx_;
  io::unique_fd done_;
  io::unique_fd confirm_;
  std::vector<std::string> to_confirm_;
  std::map<std::string, core::milestone_state> states_;
  std::map<std::string, std::string> last_progress_; ///< Per milestone: its last progress line.
  run_event finish_;
  std::atomic<bool> finished_{false};
  std::atomic<int> exit_code_{0};
  bool any_failed_ = false;
  bool budget_ = false;
  bool merge_problem_ = false;
  std::set<std::string> gate_failed_; ///< Milestones the merge gate failed on, not merged
                                      ///< since (exit 9).
  bool question_open_ = false; ///< See begin_question.
  std::string held_;           ///< Lines held back while a question is open.
  bool push_failed_ = false; ///< The last push of main failed (a later one that worked clears it).
};

/// Behavior of an event sink that forwards to `printer`.
event_sink_actor::behavior_type event_sink(event_sink_actor::pointer self,
                                           std::shared_ptr<event_printer> printer);

} // namespace sf::cli
