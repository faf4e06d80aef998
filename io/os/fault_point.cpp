#include "io/os/fault_point.hpp"

#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

namespace sf::io {

const char* const fault_point_names[] = {
  "merge.before_update_ref", // merge commit written, main not moved yet
  "merge.after_update_ref",  // main moved, root checkout not updated yet
  "merge.before_cleanup",    // merge done (queue: reported, saved), worktree not removed yet
  "merge.before_queue_save", // merge done and reported, queue file not rewritten yet
  "worker.after_spawn",      // worker process started, workers.json not written yet
  "worker.before_adopt",     // a restarted coordinator verified a worker, not adopted yet
  "supervisor.status",       // a supervisor reads a status file (`fail`: it dies)
  "coordinator.progress",    // the coordinator handles progress (`fail`: it dies)
};

const int fault_point_count = sizeof(fault_point_names) / sizeof(fault_point_names[0]);

namespace {

/// The action configured for `name` in `spec` ("" when none).
std::string action_for(const char* spec, const char* name) {
  std::string s = spec;
  std::string key = std::string(name) + "=";
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos)
      end = s.size();
    auto item = s.substr(pos, end - pos);
    if (item.compare(0, key.size(), key) == 0)
      return item.substr(key.size());
    pos = end + 1;
  }
  return {};
}

/// The action armed for `name`, once per process; empty when none is armed or it fired.
std::string take_action(const char* name) {
  const char* spec = std::getenv("SF_FAULT_POINTS");
  if (spec == nullptr || *spec == '\0')
    return {};
  auto action = action_for(spec, name);
  if (action.empty())
    return {};
  static std::mutex mu;
  static std::set<std::string> fired;
  std::lock_guard<std::mutex> guard{mu};
  if (!fired.insert(name).second)
    return {};
  return action;
}

} // namespace

void fault_point(const char* name) {
  auto action = take_action(name);
  // raise() signals only the calling thread, and SIGSTOP/SIGKILL act on the whole process.
  if (action == "kill")
    ::raise(SIGKILL);
  else if (action == "stop")
    ::raise(SIGSTOP);
}

bool fault_point_fails(const char* name) {
  return take_action(name) == "fail";
}

} // namespace sf::io
