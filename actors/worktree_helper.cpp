#include "actors/worktree_helper.hpp"

#include "io/worktree.hpp"
#include "messages/atoms.hpp"

namespace sf {

caf::behavior worktree_helper(caf::event_based_actor* self, std::string root,
                              std::string milestone, std::function<void()> before_spawn,
                              std::shared_ptr<std::atomic<bool>> cancel) {
  return {
    [=](atom::spawn) -> caf::result<std::string> {
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
