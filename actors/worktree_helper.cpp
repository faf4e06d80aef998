#include "actors/worktree_helper.hpp"

#include "io/git/worktree.hpp"
#include "messages/atoms.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace sf {

std::chrono::milliseconds worktree_helper_wait(const io::worktree_setup& setup) {
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(worktree_helper_timeout);
  if (!setup.command.empty())
    wait += setup.timeout + setup.grace + std::chrono::seconds(5);
  return wait;
}

worktree_helper_actor::behavior_type worktree_helper(worktree_helper_actor::pointer self,
                                                     std::string root, std::string milestone,
                                                     io::worktree_setup setup,
                                                     std::function<void()> before_spawn,
                                                     std::shared_ptr<std::atomic<bool>> cancel) {
  return {
    [=](atom::make_worktree) -> caf::result<std::string> {
      self->quit();
      auto wt = io::ensure_worktree(root, milestone, cancel.get());
      if (!wt)
        return wt.error();
      // Also for a worktree made ahead: a later start finds it ready and does not run it again.
      if (auto err = io::run_worktree_setup(setup, root, milestone, wt->path, cancel.get()))
        return err;
      if (before_spawn)
        before_spawn();
      return wt->path;
    },
  };
}

} // namespace sf
