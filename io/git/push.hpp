#pragma once
/// Pushing the integration branch after a merge: `git push` run as a child process in a session
/// of its own (no terminal to prompt on), so that a remote that never answers can be ended at a
/// deadline instead of holding the merge queue, and the user's own git and ssh configuration
/// (remotes, credentials, hooks) apply as they would to their own push.

#include "io/os/process.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <string>

namespace sf::io {

/// What to push where.
struct push_request {
  std::string root;   ///< Repository top folder; the push runs there.
  std::string remote; ///< A configured remote name, a path (relative to the root) or a URL.
  std::string branch; ///< Local branch, pushed under the same name.
};

/// `<root>/.sf/parallel/push.log`: the output of the last push.
std::string push_log_path(const std::string& root);

/// Starts `git push <remote> refs/heads/<branch>:refs/heads/<branch>`; its output replaces
/// `push_log_path`. The child leads its own session and process group.
caf::expected<child_process> start_push(const push_request& req);

/// What a finished push means: none on success, else an error with git's own last words and
/// the fix. `status` is the waitpid status.
caf::error push_outcome(const push_request& req, int status);

/// Waits for `child` at most `timeout`, or until `stop_fd` (when >= 0) is readable; past it,
/// ends its whole process group (SIGTERM, then SIGKILL after a second) and reports why.
caf::error wait_push(const push_request& req, child_process& child,
                     std::chrono::milliseconds timeout, int stop_fd = -1);

/// `start_push` then `wait_push`.
caf::error push_branch(const push_request& req, std::chrono::milliseconds timeout,
                       int stop_fd = -1);

} // namespace sf::io
