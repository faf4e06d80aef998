#pragma once
/// A one-shot helper that makes a queued milestone's worktree while it waits for a slot.

#include <caf/blocking_actor.hpp>
#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace sf {

/// Creates (or finds) the worktree of `milestone` under `root` on its own thread, then ends.
/// Its worker's supervisor later reuses it and starts without the checkout. A milestone whose
/// branch already says complete is left alone (it is merged, not run). A failure is logged
/// only: the supervisor's own creation tries again and reports it.
void worktree_preparer(caf::blocking_actor* self, std::string root, std::string milestone,
                       std::shared_ptr<spdlog::logger> log);

} // namespace sf
