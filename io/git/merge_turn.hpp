#pragma once
/// One merge at a time per project, whatever process runs it (a second `sf-actors merge`, a
/// coordinator's queue, a recovery by `doctor --fix`): an flock on `.sf/parallel/merge.lock`.

#include "io/os/unique_fd.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <string>

namespace sf::io {

/// Takes the project's merge turn, held while the returned descriptor lives. Waits with a
/// growing backoff at most `patience` for another holder (`ec::locked` after), or until
/// `stop_fd` (when >= 0) is readable (`ec::unavailable`).
caf::expected<unique_fd> take_merge_turn(const std::string& root,
                                         std::chrono::milliseconds patience, int stop_fd = -1);

/// True when another process holds the project's merge turn now.
bool merge_turn_busy(const std::string& root);

} // namespace sf::io
