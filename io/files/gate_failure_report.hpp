#pragma once
/// `.sf/parallel/<MID>.gate-failure.md`: what the merge gate printed when a milestone failed it.
/// The status line can hold only a few of the gate's lines; the person who fixes the milestone,
/// and the agent that `on_gate_failure: agent` resumes, need more of them.

#include <caf/error.hpp>

#include <string>

namespace sf::io {

/// One milestone's failed gate.
struct gate_failure {
  std::string milestone; ///< Its id.
  std::string command;   ///< The gate command (`merge_gate`).
  std::string ended;     ///< How it ended, e.g. "exited with code 1 after 0.3 s".
  std::string tested;    ///< What it tested: the merge of which milestones on which main.
  std::string log_tail;  ///< The end of that run's output, one line per line.
};

/// The one line for `status`, the events and the merge report: why, what is kept, how to go on,
/// and the last lines of the output.
std::string gate_failure_note(const gate_failure& f);

/// The report's text (Markdown): the command, its end, and up to the last 8 KiB of the tail.
std::string gate_failure_text(const gate_failure& f);

/// Writes the report, replacing the one of an earlier failure (a link there is refused).
caf::error write_gate_failure(const std::string& root, const gate_failure& f);

} // namespace sf::io
