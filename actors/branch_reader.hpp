#pragma once
/// branch_reader: answers what a milestone's branch holds, away from the shared scheduler.

#include "messages/interfaces.hpp"

#include <chrono>
#include <string>

namespace sf {

/// How long the coordinator waits for a branch read: one ref lookup, one blob and a merge-base
/// walk, well below a second on any repository it was tried on; past this, the branch counts
/// as unreadable (the same as a read that failed).
constexpr auto branch_read_timeout = std::chrono::seconds(60);

/// Reads `milestone/<MID>` of the repository at `root` for each request (see
/// `io::read_milestone_branch`). It opens the repository and parses YAML, so spawn it detached:
/// the coordinator asks and goes on serving while the answer is computed.
branch_reader_actor::behavior_type branch_reader(branch_reader_actor::pointer self,
                                                 std::string root);

} // namespace sf
