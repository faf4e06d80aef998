#include "io/os/proc_scan.hpp"

#include "io/os/proc_files.hpp"
#include "io/os/process.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <map>
#include <string_view>

namespace fs = std::filesystem;

namespace sf::io {

namespace {

std::string normalized(const std::string& p) {
  auto s = fs::path(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s;
}

} // namespace

bool same_folder(const std::string& a, const std::string& b) {
  if (normalized(a) == normalized(b))
    return true;
  std::error_code ec_a;
  std::error_code ec_b;
  auto ca = fs::weakly_canonical(a, ec_a);
  auto cb = fs::weakly_canonical(b, ec_b);
  return !ec_a && !ec_b && normalized(ca.string()) == normalized(cb.string());
}

bool path_within(const std::string& path, const std::string& dir) {
  auto p = normalized(path);
  auto d = normalized(dir);
  if (p == d)
    return true;
  if (d == "/")
    return !p.empty() && p[0] == '/';
  return p.size() > d.size() && p.compare(0, d.size(), d) == 0 && p[d.size()] == '/';
}

std::vector<project_process> find_project_processes(const std::string& root) {
  std::vector<project_process> out;
  auto self = static_cast<int64_t>(::getpid());
  for (auto pid : all_pids()) {
    if (pid == self)
      continue;
    auto st = read_proc_stat(pid);
    if (!st || st->state == 'Z' || st->state == 'X')
      continue;
    auto env = read_environ(pid);
    if (!env)
      continue;
    auto it = env->find("SF_PROJECT_ROOT");
    if (it == env->end() || !same_folder(it->second, root))
      continue;
    project_process p;
    p.pid = pid;
    p.ppid = st->ppid;
    p.mid = (*env)["SF_MILESTONE_LOCK"];
    p.spawn_token = (*env)["SF_SPAWN_TOKEN"];
    p.parallel_worker = (*env)["SF_PARALLEL_WORKER"] == "1";
    // It may have exited while we read it; a zombie's environment reads as empty anyway.
    if (proc_alive(pid))
      out.push_back(std::move(p));
  }
  return out;
}

std::vector<int64_t> find_git_writers(const std::string& dir) {
  std::vector<int64_t> out;
  auto self = static_cast<int64_t>(::getpid());
  auto writer = [](const std::string& name) {
    return name == "git" || name.rfind("git-", 0) == 0 || name == "sf-actors" ||
           name == "sf-worker";
  };
  for (auto pid : all_pids()) {
    if (pid == self)
      continue;
    bool is_git = writer(read_comm(pid));
    if (!is_git) // comm is cut at 15 characters and can be renamed; argv[0] tells it too.
      is_git = writer(fs::path(read_argv0(pid)).filename().string());
    if (!is_git || !proc_alive(pid))
      continue;
    auto cwd = read_cwd(pid);
    if (!cwd.empty() && path_within(cwd, dir))
      out.push_back(pid);
  }
  return out;
}

worker_check verify_worker(const std::string& root, const std::string& mid, int64_t pid,
                           const std::optional<std::string>& token) {
  auto p = std::to_string(pid);
  if (pid <= 0)
    return {worker_verdict::unverified, "pid " + p + " is not a process id"};
  auto st = read_proc_stat(pid);
  if (!st)
    return {worker_verdict::dead, "worker pid " + p + " is not running"};
  if (st->state == 'Z' || st->state == 'X')
    return {worker_verdict::zombie, "worker pid " + p + " has exited (zombie)"};
  auto environ = read_environ(pid);
  if (!environ)
    return {worker_verdict::unverified,
            "pid " + p + " runs but its environment cannot be read, so it is not a verified "
                         "worker of this project"};
  const auto& env = *environ;
  auto r = env.find("SF_PROJECT_ROOT");
  auto m = env.find("SF_MILESTONE_LOCK");
  if (r == env.end() || !same_folder(r->second, root) || m == env.end() || m->second != mid)
    return {worker_verdict::unverified,
            "pid " + p + " runs but is not a worker of " + mid + " in this project"};
  if (token) {
    auto t = env.find("SF_SPAWN_TOKEN");
    if (t == env.end() || t->second != *token)
      return {worker_verdict::unverified,
              "pid " + p + " is a worker of " + mid + " but not the one that wrote the file "
                           "(spawn token differs)"};
  }
  // A last look: it may have exited while we read its environment.
  st = read_proc_stat(pid);
  if (!st || st->state == 'Z' || st->state == 'X')
    return {worker_verdict::dead, "worker pid " + p + " is not running"};
  return {worker_verdict::verified, {}};
}

int kill_token_holders(const std::string& root, const std::string& token) {
  if (token.empty())
    return 0;
  return kill_token_holders(root, std::set<std::string>{token});
}

bool kill_identified(const process_identity& id) {
  if (id.pid <= 1)
    return false;
  unique_fd fd{static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(id.pid), 0))};
  // Checked after the pidfd pins the process: a pid reused before fails the check.
  if (!fd || !identity_matches(id) ||
      ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0) != 0)
    return false;
  pollfd pfd{fd.get(), POLLIN, 0};
  ::poll(&pfd, 1, 1000);
  siginfo_t info{};
  (void) ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd.get()), &info,
                  WEXITED | WNOHANG);
  return true;
}

int kill_token_holders(const std::string& root, const std::set<std::string>& tokens) {
  if (tokens.empty() || (tokens.size() == 1 && tokens.begin()->empty()))
    return 0;
  auto self = static_cast<int64_t>(::getpid());
  std::set<int64_t> killed;
  std::vector<unique_fd> children; // pidfds of killed processes that are our own children
  // A process may fork while it is being killed: scan again until a round finds nobody new.
  for (int round = 0; round < 8; ++round) {
    bool found = false;
    for (const auto& p : find_project_processes(root)) {
      if (p.spawn_token.empty() || tokens.count(p.spawn_token) == 0 || killed.count(p.pid))
        continue;
      unique_fd fd{static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(p.pid), 0))};
      if (!fd)
        continue;
      // The pidfd pins this incarnation: if the environment still says ours, the signal is.
      auto again = read_environ_value(p.pid, "SF_SPAWN_TOKEN");
      if (!again || *again != p.spawn_token ||
          ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0) != 0)
        continue;
      killed.insert(p.pid);
      found = true;
      if (p.ppid == self)
        children.push_back(std::move(fd));
    }
    if (!found)
      break;
  }
  // A worker whose supervisor is gone is still our child: reap it rather than leave a zombie.
  // SIGKILL takes effect within milliseconds; the wait is bounded all the same.
  for (auto& fd : children) {
    pollfd pfd{fd.get(), POLLIN, 0};
    ::poll(&pfd, 1, 1000);
    siginfo_t info{};
    (void) ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd.get()), &info,
                    WEXITED | WNOHANG);
  }
  return static_cast<int>(killed.size());
}

} // namespace sf::io
