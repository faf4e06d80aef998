#include "actors/branch_reader.hpp"

#include "io/git/branch_changes.hpp"
#include "io/git/milestone_branch.hpp"
#include "messages/atoms.hpp"
#include "messages/error.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace sf {

branch_reader_actor::behavior_type branch_reader(branch_reader_actor::pointer,
                                                 std::string root) {
  return {
    [root](atom::read_branch, const std::string& mid) {
      branch_report r;
      r.milestone = mid;
      auto b = io::read_milestone_branch(root, mid);
      if (!b) {
        r.error = describe(b.error());
        return r;
      }
      if (*b) {
        r.exists = true;
        r.complete = (*b)->complete;
        r.merged = (*b)->merged;
        r.tip = (*b)->tip;
      }
      return r;
    },
    [root](atom::read_changes, const std::string& mid) {
      branch_changes r;
      r.milestone = mid;
      auto changes = io::read_branch_changes(root, mid);
      if (!changes)
        r.error = describe(changes.error());
      else if (*changes) {
        r.tip = (*changes)->tip;
        r.files = std::move((*changes)->files);
      }
      return r;
    },
  };
}

} // namespace sf
