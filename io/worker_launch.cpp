#include "io/worker_launch.hpp"

#include "io/safe_file.hpp"

#include <unistd.h>

#include <cstdlib>

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

std::string worker_log_path(const std::string& root, const std::string& mid) {
  return root + "/.sf/parallel/" + mid + ".log";
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

std::vector<std::string> allowlisted_environment() {
  std::vector<std::string> env;
  for (const auto& key : worker_env_allowlist())
    if (const char* value = std::getenv(key.c_str()))
      env.push_back(key + "=" + value);
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
