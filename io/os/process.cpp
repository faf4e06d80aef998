#include "io/os/process.hpp"

#include "io/os/proc_files.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace sf::io {

namespace {

/// Looks up `name` in PATH (taken from the child's environment when it sets one), so a
/// missing program is reported before anything is spawned.
caf::expected<std::string> resolve_program(const std::string& name,
                                           const std::vector<std::string>& env) {
  if (name.empty())
    return make_error(ec::process_error, "cannot spawn: the program name (argv[0]) is empty");
  if (name.find('/') != std::string::npos)
    return name;
  std::string path;
  bool found_path = false;
  for (const auto& kv : env) {
    if (kv.rfind("PATH=", 0) == 0) {
      path = kv.substr(5);
      found_path = true;
    }
  }
  if (!found_path) {
    const char* p = std::getenv("PATH");
    path = p ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  bool saw_non_executable = false;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos)
      end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    // Relative entries would be resolved against the child's cwd after chdir: skip them.
    if (dir.empty() || dir[0] != '/')
      continue;
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    saw_non_executable = true;
  }
  if (saw_non_executable)
    return make_error(ec::process_error, "cannot execute '" + name +
                                             "': found in PATH but not executable; fix its "
                                             "permissions (chmod +x)");
  return make_error(ec::process_error, "cannot execute '" + name +
                                           "': not found in PATH; install it or give an "
                                           "absolute path");
}

/// Moves `fd` to a number >= 3 so the dup2 actions onto 0..2 cannot overwrite one another.
caf::expected<unique_fd> above_stdio(unique_fd fd, const std::string& what) {
  if (fd.get() >= 3)
    return fd;
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0)
    return make_error(ec::process_error, "cannot duplicate fd for " + what + ": " +
                                             errno_text(errno));
  return unique_fd{moved};
}

/// RAII for the two posix_spawn helper objects.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  bool actions_ok = false;
  bool attr_ok = false;
  ~spawn_setup() {
    if (actions_ok)
      posix_spawn_file_actions_destroy(&actions);
    if (attr_ok)
      posix_spawnattr_destroy(&attr);
  }
};

/// Kills and reaps a child we cannot hand out (its pid is still pinned: it is unreaped).
void discard_child(pid_t pid) {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

} // namespace

child_process::child_process(pid_t pid, unique_fd pidfd, uint64_t start_time)
  : pid_(pid), pidfd_(std::move(pidfd)), start_time_(start_time) {
}

bool child_process::try_reap(int& status) {
  if (reaped_) {
    status = status_;
    return true;
  }
  if (!pidfd_)
    return false;
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  int rc;
  do {
    rc = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                  WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    // ECHILD: someone else reaped it (e.g. a waitpid(-1) elsewhere); its status is lost,
    // but it is gone for good, so report it as reaped with an unknown status.
    if (errno == ECHILD) {
      reaped_ = true;
      status_ = status = -1;
      return true;
    }
    return false;
  }
  if (info.si_pid == 0)
    return false;
  switch (info.si_code) {
    case CLD_EXITED: status_ = (info.si_status & 0xff) << 8; break;
    case CLD_KILLED: status_ = info.si_status & 0x7f; break;
    case CLD_DUMPED: status_ = (info.si_status & 0x7f) | 0x80; break;
    default: status_ = -1; break;
  }
  reaped_ = true;
  status = status_;
  return true;
}

caf::error child_process::signal(int sig) {
  if (pid_ <= 0 || !pidfd_)
    return make_error(ec::process_error, "cannot signal: this handle holds no process");
  if (reaped_)
    return make_error(ec::process_error, "cannot signal process " + std::to_string(pid_) +
                                             ": it was already reaped and its pid may be reused");
  // Raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C", so its wrapper does not link
  // from C++.
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) != 0) {
    // ESRCH: it has exited but is not reaped yet; there is nobody left to signal.
    if (errno == ESRCH)
      return {};
    return make_error(ec::process_error, "cannot send signal " + std::to_string(sig) +
                                             " to process " + std::to_string(pid_) + ": " +
                                             errno_text(errno));
  }
  return {};
}

caf::error child_process::signal_group(int sig) {
  if (pid_ <= 0)
    return make_error(ec::process_error, "cannot signal group: this handle holds no process");
  // Only while the leader is unreaped: its zombie keeps the pgid from being reused.
  if (reaped_)
    return make_error(ec::process_error,
                      "cannot signal process group " + std::to_string(pid_) +
                          ": its leader was already reaped and the id may be reused");
  if (adopted_) {
    // Not our child, so no zombie pins the group id: signal only while the pidfd says the
    // leader still runs.
    pollfd pfd{pidfd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 0) != 0)
      return make_error(ec::process_error, "cannot signal process group " +
                                               std::to_string(pid_) +
                                               ": its leader (an adopted worker) has exited");
  }
  if (::kill(-pid_, sig) != 0) {
    if (errno == ESRCH)
      return {};
    return make_error(ec::process_error, "cannot send signal " + std::to_string(sig) +
                                             " to process group " + std::to_string(pid_) +
                                             ": " + errno_text(errno));
  }
  return {};
}

namespace {

caf::expected<child_process> spawn_impl(const spawn_request& req, bool new_session) {
  if (req.argv.empty())
    return make_error(ec::process_error, "cannot spawn: argv is empty; name a program to run");
  auto program = resolve_program(req.argv[0], req.env);
  if (!program)
    return program.error();
  if (!req.cwd.empty()) {
    struct stat st;
    if (::stat(req.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return make_error(ec::process_error, "cannot spawn '" + req.argv[0] +
                                               "': working folder '" + req.cwd +
                                               "' is not an existing directory");
  }
  unique_fd null_fd{::open("/dev/null", O_RDWR | O_CLOEXEC)};
  if (!null_fd)
    return make_error(ec::process_error, "cannot open /dev/null: " + errno_text(errno));
  auto null_moved = above_stdio(std::move(null_fd), "/dev/null");
  if (!null_moved)
    return null_moved.error();
  unique_fd log_fd;
  if (req.output_fd >= 0) {
    // A private duplicate, so the caller's descriptor is neither moved nor closed here.
    log_fd.reset(::fcntl(req.output_fd, F_DUPFD_CLOEXEC, 3));
    if (!log_fd)
      return make_error(ec::process_error, "cannot duplicate the output fd " +
                                               std::to_string(req.output_fd) + ": " +
                                               errno_text(errno));
  } else if (req.log_path.empty()) {
    log_fd.reset(::fcntl(null_moved->get(), F_DUPFD_CLOEXEC, 3));
  } else {
    // The log folder may be writable by workers: a planted link, FIFO or folder is refused.
    auto opened = open_regular(req.log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (!opened)
      return make_error(ec::process_error, "cannot open log file: " + describe(opened.error()));
    log_fd = std::move(*opened);
  }
  if (!log_fd)
    return make_error(ec::process_error, "cannot open log file '" + req.log_path +
                                             "': " + errno_text(errno) +
                                             "; check the folder exists and is writable");
  auto log_moved = above_stdio(std::move(log_fd), req.log_path);
  if (!log_moved)
    return log_moved.error();
  unique_fd in_fd;
  if (req.input_fd >= 0) {
    in_fd.reset(::fcntl(req.input_fd, F_DUPFD_CLOEXEC, 3));
    if (!in_fd)
      return make_error(ec::process_error, "cannot duplicate the input fd " +
                                               std::to_string(req.input_fd) + ": " +
                                               errno_text(errno));
  }
  int stdin_fd = in_fd ? in_fd.get() : null_moved->get();

  spawn_setup s;
  s.actions_ok = posix_spawn_file_actions_init(&s.actions) == 0;
  s.attr_ok = posix_spawnattr_init(&s.attr) == 0;
  if (!s.actions_ok || !s.attr_ok)
    return make_error(ec::process_error, "cannot prepare posix_spawn: out of memory");
  int rc = 0;
  auto check = [&rc](int r) {
    if (rc == 0)
      rc = r;
  };
  check(posix_spawn_file_actions_adddup2(&s.actions, stdin_fd, 0));
  check(posix_spawn_file_actions_adddup2(&s.actions, log_moved->get(), 1));
  check(posix_spawn_file_actions_adddup2(&s.actions, log_moved->get(), 2));
  if (!req.cwd.empty())
    check(posix_spawn_file_actions_addchdir_np(&s.actions, req.cwd.c_str()));
  check(posix_spawn_file_actions_addclosefrom_np(&s.actions, 3));
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t all_default;
  sigfillset(&all_default);
  sigdelset(&all_default, SIGKILL);
  sigdelset(&all_default, SIGSTOP);
  check(posix_spawnattr_setsigmask(&s.attr, &empty_mask));
  check(posix_spawnattr_setsigdefault(&s.attr, &all_default));
  check(posix_spawnattr_setpgroup(&s.attr, 0));
  // A new session also makes the child lead its own process group (pgid == pid).
  short group_flag = new_session ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
  check(posix_spawnattr_setflags(&s.attr,
                                 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | group_flag));
  if (rc != 0)
    return make_error(ec::process_error, "cannot prepare posix_spawn: " + errno_text(rc));

  std::vector<char*> argv;
  for (const auto& a : req.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : req.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  // glibc's posix_spawn waits until the child has exec'd, so an exec failure comes back here
  // as the return value (and glibc has already reaped that child).
  rc = ::posix_spawn(&pid, program->c_str(), &s.actions, &s.attr, argv.data(), envp.data());
  if (rc != 0)
    return make_error(ec::process_error, "cannot execute '" + *program + "': " +
                                             errno_text(rc) +
                                             "; check it exists and is executable");

  unique_fd pidfd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
  if (!pidfd) {
    int err = errno;
    discard_child(pid);
    return make_error(ec::process_error, "cannot open a pidfd for process " +
                                             std::to_string(pid) + ": " + errno_text(err) +
                                             "; a Linux kernel >= 5.3 is required");
  }
  auto st = read_proc_stat(pid);
  if (!st) {
    discard_child(pid);
    return make_error(ec::process_error, "cannot read the start time of process " +
                                             std::to_string(pid) + ": " + describe(st.error()));
  }
  return child_process{pid, std::move(pidfd), st->start_time};
}

} // namespace

caf::expected<child_process> spawn_process(const spawn_request& req) {
  return spawn_impl(req, false);
}

caf::expected<child_process> spawn_session_leader(const spawn_request& req) {
  return spawn_impl(req, true);
}

std::string describe_exit(int status) {
  if (status == -1)
    return "exit status unknown (an adopted worker: only its own parent learns it)";
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    std::string name = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
    return "killed by " + name + (WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return "unknown exit status " + std::to_string(status);
}

caf::expected<process_identity> read_identity(int64_t pid) {
  auto boot = read_boot_id();
  if (!boot)
    return boot.error();
  auto st = read_proc_stat(pid);
  if (!st)
    return st.error();
  return process_identity{pid, st->start_time, std::move(*boot)};
}

bool identity_matches(const process_identity& id) {
  auto boot = read_boot_id();
  if (!boot || *boot != id.boot_id)
    return false;
  auto st = read_proc_stat(id.pid);
  if (!st)
    return false;
  // A zombie ('Z') or dying ('X') process has finished: it must not be re-adopted.
  return st->state != 'Z' && st->state != 'X' && st->start_time == id.start_time;
}

caf::error cap_log(const std::string& path, std::size_t max_bytes) {
  // A look first: opening the log for writing would make inotify report a change of the
  // parallel folder on every status read, waking the reactor for nothing.
  struct stat pre;
  if (::lstat(path.c_str(), &pre) == 0 && S_ISREG(pre.st_mode) &&
      static_cast<std::size_t>(pre.st_size) <= max_bytes)
    return {};
  auto opened = open_regular(path, O_RDWR);
  if (!opened) {
    if (code_of(opened.error()) == ec::not_found)
      return {};
    return make_error(ec::io_error, "cannot cap a log: " + describe(opened.error()));
  }
  unique_fd fd = std::move(*opened);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0)
    return make_error(ec::io_error, "cannot stat log " + path + ": " + errno_text(errno));
  auto size = static_cast<std::size_t>(st.st_size);
  if (size <= max_bytes)
    return {};
  std::size_t keep = max_bytes / 2;
  std::string tail(keep, '\0');
  std::size_t got = 0;
  while (got < keep) {
    ssize_t n = ::pread(fd.get(), tail.data() + got, keep - got,
                        static_cast<off_t>(size - keep + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return make_error(ec::io_error, "cannot read log " + path + ": " + errno_text(errno));
    if (n == 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  tail.resize(got);
  // The ".tmp" marker keeps folder watchers from treating the half-written copy as real.
  auto rotated = path + ".1";
  // O_EXCL with a random name: never reuse or follow a file someone planted.
  auto tmp = rotated + ".tmp." + random_hex();
  auto created = open_regular(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!created)
    return make_error(ec::io_error, "cannot create a temp file: " + describe(created.error()));
  unique_fd out = std::move(*created);
  std::size_t put = 0;
  while (put < tail.size()) {
    ssize_t n = ::write(out.get(), tail.data() + put, tail.size() - put);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return make_error(ec::io_error, "cannot write " + tmp + ": " + errno_text(err) +
                                          "; free disk space");
    }
    put += static_cast<std::size_t>(n);
  }
  if (::fsync(out.get()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return make_error(ec::io_error, "cannot fsync " + tmp + ": " + errno_text(err));
  }
  out.reset();
  if (::rename(tmp.c_str(), rotated.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return make_error(ec::io_error, "cannot rename " + tmp + " to " + rotated + ": " +
                                        errno_text(err));
  }
  // The child appends with O_APPEND, so after truncation it simply writes at offset 0 again.
  if (::ftruncate(fd.get(), 0) != 0)
    return make_error(ec::io_error, "cannot truncate log " + path + ": " + errno_text(errno));
  return {};
}

namespace {

/// The last `n` lines of one file (at most the last 64 KiB).
std::string tail_of_file(const std::string& path, std::size_t n) {
  constexpr std::size_t window = 64 * 1024;
  if (n == 0)
    return {};
  auto opened = open_regular(path, O_RDONLY);
  if (!opened)
    return {};
  unique_fd fd = std::move(*opened);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0)
    return {};
  auto size = static_cast<std::size_t>(st.st_size);
  std::size_t from = size > window ? size - window : 0;
  std::string text(size - from, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t r = ::pread(fd.get(), text.data() + got, text.size() - got,
                        static_cast<off_t>(from + got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += static_cast<std::size_t>(r);
  }
  text.resize(got);
  // A window that starts mid-file starts mid-line: drop that fragment.
  if (from > 0) {
    auto nl = text.find('\n');
    text.erase(0, nl == std::string::npos ? text.size() : nl + 1);
  }
  // Count back n line ends, not counting the final newline of the last line.
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n')
    --end;
  std::size_t pos = end;
  for (std::size_t found = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++found == n)
      break;
  }
  return text.substr(pos);
}

} // namespace

std::string tail_lines(const std::string& path, std::size_t n) {
  auto current = tail_of_file(path, n);
  // Just after a rotation the log holds few lines: the rest are at the end of `<path>.1`.
  auto have = static_cast<std::size_t>(std::count(current.begin(), current.end(), '\n'));
  if (!current.empty() && current.back() != '\n')
    ++have;
  if (have >= n)
    return current;
  auto older = tail_of_file(path + ".1", n - have);
  if (!older.empty() && older.back() != '\n')
    older += '\n';
  return older + current;
}

} // namespace sf::io

namespace sf::io {

caf::expected<child_process> adopt_process(const process_identity& id) {
  if (id.pid <= 1)
    return make_error(ec::process_error, "refusing to adopt pid " + std::to_string(id.pid));
  unique_fd pidfd{static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(id.pid), 0))};
  if (!pidfd)
    return make_error(ec::process_error, "cannot adopt pid " + std::to_string(id.pid) + ": " +
                                             errno_text(errno));
  // Checked after the pidfd exists: a pid reused before it fails the check, and an exit after
  // it shows up on the pidfd.
  if (!identity_matches(id))
    return make_error(ec::process_error, "pid " + std::to_string(id.pid) +
                                             " is no longer the worker that was spawned");
  child_process out{static_cast<pid_t>(id.pid), std::move(pidfd), id.start_time};
  out.adopted_ = true;
  return out;
}

} // namespace sf::io
