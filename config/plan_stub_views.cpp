// TEMPORARY (branch plan-views): `to_string(milestone_status)` so the plan views and their tests
// link before config/plan.cpp lands. Delete this file when merging plan.cpp.
#include "config/plan.hpp"

namespace sf {

const char* to_string(milestone_status s) {
  switch (s) {
  case milestone_status::pending:
    return "pending";
  case milestone_status::active:
    return "active";
  case milestone_status::complete:
    return "complete";
  case milestone_status::parked:
    return "parked";
  }
  return "pending";
}

} // namespace sf
