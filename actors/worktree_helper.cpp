#include "actors/worktree_helper.hpp"

#include "io/git/worktree.hpp"
#include "messages/atoms.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace sf {

worktree_helper_actor::behavior_type worktree_helper(worktree_helper_actor::pointer self,
                                                     std::string root, std::string milestone,
                                                     std::function<void()> before_spawn,
                                                     std::shared_ptr<std::atomic<bool>> cancel) {
  return {
    [=](atom::make_worktree) -> caf::result<std::string> {
      self->quit();
      auto wt = io::ensure_worktree(root, milestone, cancel.get());
      if (!wt)
        return wt.error();
      if (before_spawn)
        before_spawn();
      return wt->path;
    },
  };
}

} // namespace sf
