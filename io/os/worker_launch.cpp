#include "io/os/worker_launch.hpp"

#include "core/sf_paths.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

extern char** environ;
#include <cstring>

namespace sf::io {

spawn_request worker_spawn_request(const worker_launch& launch) {
  spawn_request req;
  req.argv = launch.argv;
  req.cwd = launch.worktree;
  req.env = launch.base_env;
  req.env.push_back("SF_MILESTONE_LOCK=" + launch.milestone);
  req.env.push_back("SF_PARALLEL_WORKER=1");
  req.env.push_back("SF_PROJECT_ROOT=" + launch.root);
  req.env.push_back("SF_SPAWN_TOKEN=" + launch.spawn_token);
  req.log_path = worker_log_path(launch.root, launch.milestone);
  return req;
}

caf::expected<launched_worker> spawn_worker(const worker_launch& launch, const std::string& relay,
                                            std::size_t cap) {
  return spawn_relayed(worker_spawn_request(launch), relay, cap);
}

caf::expected<launched_worker> spawn_relayed(spawn_request req, const std::string& relay,
                                             std::size_t cap) {
  launched_worker out;
  if (relay.empty()) {
    auto child = spawn_process(req);
    if (!child)
      return child.error();
    out.worker = std::move(*child);
    return out;
  }
  // A look without opening (which could block on a FIFO): a clear error now beats output
  // the relay can only drop. The relay checks again when it opens the file.
  struct stat st;
  if (::lstat(req.log_path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return not_regular_error(req.log_path, st.st_mode);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return make_error(ec::process_error, "cannot create the output pipe of a child: " +
                                           std::string(std::strerror(errno)));
  unique_fd read_end{fds[0]};
  unique_fd write_end{fds[1]};
  // No SF_* variables: the relay is not part of the worker's tree, so the token kill that ends
  // the tree leaves it to copy the last output and end at end of file.
  spawn_request rr;
  rr.argv = {relay, std::to_string(cap), req.log_path};
  rr.cwd = "/";
  rr.input_fd = read_end.get();
  auto r = spawn_process(rr);
  read_end.reset();
  if (!r)
    return make_error(ec::process_error, "cannot start the log relay: " + describe(r.error()));
  req.output_fd = write_end.get();
  req.log_path.clear();
  auto w = spawn_process(req);
  // Ours must go, or the relay never sees end of file.
  write_end.reset();
  if (!w) {
    // The relay sees end of file at once; reap it rather than leave a zombie.
    pollfd pfd{r->pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 1000);
    int status = 0;
    (void) r->try_reap(status);
    return w.error();
  }
  out.worker = std::move(*w);
  out.relay = std::move(*r);
  return out;
}

std::string worker_log_path(const std::string& root, const std::string& mid) {
  return core::worker_log(root, mid);
}

std::string new_spawn_token() {
  return random_hex(16);
}

const std::vector<std::string>& worker_env_allowlist() {
  static const std::vector<std::string> keys = {"PATH",
                                                "HOME",
                                                "USER",
                                                "LOGNAME",
                                                "SHELL",
                                                "LANG",
                                                "LC_ALL",
                                                "LC_CTYPE",
                                                "LC_MESSAGES",
                                                "TERM",
                                                "TZ",
                                                "TMPDIR",
                                                "GIT_AUTHOR_NAME",
                                                "GIT_AUTHOR_EMAIL",
                                                "GIT_COMMITTER_NAME",
                                                "GIT_COMMITTER_EMAIL"};
  return keys;
}

const std::vector<std::string>& worker_env_prefixes() {
  // What coding agents read: their keys, endpoints and configuration (Claude Code, Codex,
  // aider), and where the user's tools keep configuration and trust proxies and certificates.
  static const std::vector<std::string> prefixes = {
    "ANTHROPIC_", "CLAUDE_", "OPENAI_", "CODEX_", "AIDER_", "AZURE_OPENAI_", "GEMINI_",
    "GOOGLE_", "AWS_", "XDG_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy",
    "https_proxy", "no_proxy", "SSL_CERT_"};
  return prefixes;
}

std::vector<std::string> allowlisted_environment() {
  std::vector<std::string> env;
  for (const auto& key : worker_env_allowlist())
    if (const char* value = std::getenv(key.c_str()))
      env.push_back(key + "=" + value);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry{*e};
    auto eq = entry.find('=');
    if (eq == std::string_view::npos)
      continue;
    auto key = entry.substr(0, eq);
    // CLAUDECODE marks a shell inside Claude Code: a nested agent must not inherit it.
    if (key == "CLAUDECODE")
      continue;
    for (const auto& prefix : worker_env_prefixes())
      if (key.rfind(prefix, 0) == 0) {
        env.emplace_back(entry);
        break;
      }
  }
  return env;
}

bool pid_belongs_to_worker(pid_t leader, int64_t pid) {
  if (pid == leader)
    return true;
  if (pid <= 0 || leader <= 0)
    return false;
  return ::getpgid(static_cast<pid_t>(pid)) == leader;
}

} // namespace sf::io
