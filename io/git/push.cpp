#include "io/git/push.hpp"

#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

extern char** environ;

namespace sf::io {

namespace {

/// What git said went wrong: the porcelain line of a refused ref ("[rejected]
/// (non-fast-forward)"), else its first `fatal:`/`error:` line, else its last line.
std::string last_words(const std::string& root) {
  auto text = tail_lines(push_log_path(root), 20);
  std::string first_error, last;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (line.empty())
      continue;
    if (line[0] == '!') {
      // Porcelain: "!<TAB>from:to<TAB>[rejected] (reason)".
      auto tab = line.rfind('\t');
      return "the remote refused it: " + (tab == std::string::npos ? line : line.substr(tab + 1));
    }
    for (const char* prefix : {"fatal: ", "error: "})
      if (first_error.empty() &&
          line.compare(0, std::char_traits<char>::length(prefix), prefix) == 0)
        first_error = line.substr(std::char_traits<char>::length(prefix));
    last = line;
  }
  return first_error.empty() ? last : first_error;
}

/// Waits until `fd` is readable (true) or `timeout` passed or `stop_fd` became readable.
bool wait_readable(int fd, std::chrono::milliseconds timeout, int stop_fd = -1,
                   bool* stopped = nullptr) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd pfds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int rc = ::poll(pfds, stop_fd >= 0 ? 2 : 1,
                    static_cast<int>(std::max<long long>(0, left.count())));
    if (rc > 0 && (pfds[0].revents & POLLIN) != 0)
      return true;
    if (rc > 0 && stop_fd >= 0 && pfds[1].revents != 0) {
      if (stopped != nullptr)
        *stopped = true;
      return false;
    }
    if (rc == 0 || (rc < 0 && errno != EINTR))
      return false;
  }
}

} // namespace

std::string push_log_path(const std::string& root) {
  return core::parallel_file(root, "push.log");
}

caf::expected<child_process> start_push(const push_request& req) {
  auto dir = ensure_parallel_dir(req.root);
  if (!dir)
    return std::move(dir.error());
  // Each push's output replaces the last one's, so the log never grows.
  ::unlinkat(dir->fd.get(), "push.log", 0);
  spawn_request sp;
  std::string spec = "refs/heads/" + req.branch + ":refs/heads/" + req.branch;
  // `--` keeps a remote that starts with '-' from being read as an option.
  sp.argv = {"git", "push", "--porcelain", "--", req.remote, spec};
  sp.cwd = req.root;
  // The user's environment (credentials, ssh agent) without a prompt: nobody can answer one.
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (std::string_view{*e}.rfind("GIT_TERMINAL_PROMPT=", 0) != 0)
      sp.env.emplace_back(*e);
  sp.env.emplace_back("GIT_TERMINAL_PROMPT=0");
  sp.log_path = push_log_path(req.root);
  return spawn_session_leader(sp);
}

caf::error push_outcome(const push_request& req, int status) {
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return {};
  auto why = last_words(req.root);
  if (why.empty())
    why = describe_exit(status);
  return make_error(ec::process_error,
                    "pushing " + req.branch + " to '" + req.remote + "' failed: " + why +
                      "; check parallel.push_remote and try `git push " + req.remote + " " +
                      req.branch + "` (output in .sf/parallel/push.log)");
}

caf::error wait_push(const push_request& req, child_process& child,
                     std::chrono::milliseconds timeout, int stop_fd) {
  int status = 0;
  bool stopped = false;
  if (wait_readable(child.pidfd(), timeout, stop_fd, &stopped) && child.try_reap(status))
    return push_outcome(req, status);
  // Past the deadline: the whole session goes (git, ssh, a helper), verified ours by the pidfd.
  (void) child.signal_group(SIGTERM);
  if (!wait_readable(child.pidfd(), std::chrono::seconds(1)))
    (void) child.signal_group(SIGKILL);
  wait_readable(child.pidfd(), std::chrono::seconds(5));
  child.try_reap(status);
  if (stopped)
    return make_error(ec::process_error, "the push of " + req.branch + " to '" + req.remote +
                                           "' was stopped by a signal; push it yourself (git "
                                           "push " + req.remote + " " + req.branch + ")");
  return make_error(ec::process_error,
                    fmt::format("pushing {} to '{}' did not end within {:g} s (push_timeout) and "
                                "was stopped; check that the remote answers (`git push {} {}`)",
                                req.branch, req.remote,
                                std::chrono::duration<double>(timeout).count(), req.remote,
                                req.branch));
}

caf::error push_branch(const push_request& req, std::chrono::milliseconds timeout,
                       int stop_fd) {
  auto child = start_push(req);
  if (!child)
    return std::move(child.error());
  return wait_push(req, *child, timeout, stop_fd);
}

} // namespace sf::io
