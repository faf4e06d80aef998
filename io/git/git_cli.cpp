#include "io/git/git_cli.hpp"

#include "io/os/process.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace sf::io {

namespace {

constexpr std::size_t max_output = 64 * 1024;

bool ours_to_drop(const char* entry) {
  for (const char* key : {"GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_COMMON_DIR=",
                          "GIT_OBJECT_DIRECTORY="})
    if (std::strncmp(entry, key, std::strlen(key)) == 0)
      return true;
  return false;
}

} // namespace

caf::expected<git_cli_result> run_git(const std::string& dir, const std::vector<std::string>& args,
                                      const std::vector<std::string>& env,
                                      std::chrono::milliseconds timeout, int stop_fd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return make_error(ec::process_error, std::string{"cannot create a pipe for git: "} +
                                           std::strerror(errno));
  unique_fd read_end{fds[0]};
  unique_fd write_end{fds[1]};
  spawn_request req;
  req.argv = {"git"};
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  req.cwd = dir;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (!ours_to_drop(*e))
      req.env.emplace_back(*e);
  req.env.insert(req.env.end(), env.begin(), env.end());
  req.env.emplace_back("GIT_TERMINAL_PROMPT=0");
  req.output_fd = write_end.get();
  auto child = spawn_process(req);
  if (!child)
    return std::move(child.error());
  write_end.reset();
  git_cli_result out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false;
  for (;;) {
    int status = 0;
    if (eof && child->try_reap(status)) {
      out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return out;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd stop{stop_fd, POLLIN, 0};
    bool stopped = stop_fd >= 0 && ::poll(&stop, 1, 0) > 0;
    if (left.count() <= 0 || stopped) {
      (void) child->signal_group(SIGKILL);
      pollfd pfd{child->pidfd(), POLLIN, 0};
      ::poll(&pfd, 1, 5000);
      child->try_reap(status);
      out.exit_code = stopped ? -2 : -1;
      return out;
    }
    pollfd pfds[3] = {{eof ? -1 : read_end.get(), POLLIN, 0}, {child->pidfd(), POLLIN, 0},
                      {stop_fd, POLLIN, 0}};
    int rc = ::poll(pfds, stop_fd >= 0 ? 3 : 2, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR)
      return make_error(ec::process_error, std::string{"waiting for git failed: "} +
                                             std::strerror(errno));
    if (!eof && (pfds[0].revents & (POLLIN | POLLHUP)) != 0) {
      char buf[4096];
      auto n = ::read(read_end.get(), buf, sizeof buf);
      if (n > 0 && out.output.size() < max_output)
        out.output.append(buf, static_cast<std::size_t>(n));
      else if (n == 0)
        eof = true;
    }
    // An exited child whose output is not drained yet is read to its end first.
  }
}

std::string git_failure(const git_cli_result& r, const std::string& what) {
  if (r.exit_code == -1)
    return what + " did not end in time and was stopped";
  if (r.exit_code == -2)
    return what + " was stopped because this command was interrupted";
  auto why = git_refusal(r.output);
  return why.empty() ? what + " failed (exit " + std::to_string(r.exit_code) + ")" : why;
}

std::string git_refusal(const std::string& output) {
  std::string out;
  std::size_t pos = 0;
  bool listing = false;
  while (pos < output.size()) {
    auto end = output.find('\n', pos);
    auto line = output.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? output.size() : end + 1;
    bool said = line.rfind("error: ", 0) == 0 || line.rfind("fatal: ", 0) == 0;
    bool item = listing && !line.empty() && (line[0] == '\t' || line[0] == ' ');
    if (said) {
      line.erase(0, 7);
      listing = !line.empty() && line.back() == ':';
    } else if (item) {
      line.erase(0, line.find_first_not_of(" \t"));
    } else {
      listing = false;
      continue;
    }
    out += (out.empty() ? "" : said ? "; " : " ") + line;
  }
  return out;
}

} // namespace sf::io
