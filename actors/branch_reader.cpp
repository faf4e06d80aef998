#include "actors/branch_reader.hpp"

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
  };
}

} // namespace sf
