#include "actors/worktree_preparer.hpp"

#include "io/milestone_branch.hpp"
#include "io/worktree.hpp"
#include "messages/error.hpp"

namespace sf {

void worktree_preparer(caf::blocking_actor*, std::string root, std::string milestone,
                       std::shared_ptr<spdlog::logger> log) {
  auto branch = io::read_milestone_branch(root, milestone);
  if (branch && *branch && (*branch)->complete)
    return;
  if (auto wt = io::ensure_worktree(root, milestone); !wt)
    log->info("worktree_preparer {}: {} (its supervisor tries again when it starts)", milestone,
              describe(wt.error()));
}

} // namespace sf
