#pragma once
/// `.sf/parallel/gate.json`: which process runs the merge gate now, so that a coordinator that
/// starts after a crash can end a gate command its predecessor left running (it would otherwise
/// test in the same worktree as the new one) without ever signalling a process that is not it.

#include "io/os/process.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// One running gate command.
struct gate_record {
  process_identity process;            ///< The command's process (and group leader).
  std::string commit;                  ///< The commit under test.
  std::vector<std::string> milestones; ///< What it tests, for the log.
};

/// Writes the record (replaced atomically).
caf::error write_gate_record(const std::string& root, const gate_record& r);

/// The record, or nothing when there is none; a damaged record is an error.
caf::expected<std::optional<gate_record>> read_gate_record(const std::string& root);

/// Removes the record; a missing one is fine.
void remove_gate_record(const std::string& root);

/// Ends the gate command an earlier coordinator left running, when the record names a process
/// that is still that very process (pid, start time, boot): its whole group gets SIGKILL and it
/// is waited for (at most 5 s). Removes the record. Gives a line for the log when it ended one
/// or found the record damaged, else empty.
std::string end_left_gate(const std::string& root);

} // namespace sf::io
