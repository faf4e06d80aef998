#include "support/pty_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace sf::test {

pty_session::pty_session(const std::vector<std::string>& argv, const std::string& cwd,
                         const std::vector<std::string>& env) {
  // Everything the child needs is built before the fork: after it, only async-signal-safe calls.
  std::vector<char*> args, envp;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 120;
  pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ < 0)
    throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    if (::chdir(cwd.c_str()) != 0)
      ::_exit(126);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::fcntl(master_, F_SETFD, FD_CLOEXEC);
  ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
}

pty_session::~pty_session() {
  if (!status_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL); // forkpty made it a session (and group) leader.
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (pidfd_ >= 0)
    ::close(pidfd_);
  if (master_ >= 0)
    ::close(master_);
}

bool pty_session::pump(int timeout_ms) {
  pollfd pfd{master_, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) <= 0)
    return true;
  char buf[4096];
  for (;;) {
    auto n = ::read(master_, buf, sizeof buf);
    if (n > 0) {
      out_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    // EIO: every slave side is closed (the program and its children are gone).
    return n < 0 && (errno == EAGAIN || errno == EINTR);
  }
}

bool pty_session::wait_for(const std::string& needle, std::chrono::milliseconds timeout,
                           std::size_t from) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_.find(needle, from) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    if (!pump(static_cast<int>(left.count())))
      return out_.find(needle, from) != std::string::npos;
  }
  return true;
}

void pty_session::type(const std::string& keys) {
  std::size_t done = 0;
  while (done < keys.size()) {
    auto n = ::write(master_, keys.data() + done, keys.size() - done);
    if (n > 0)
      done += static_cast<std::size_t>(n);
    else if (errno != EAGAIN && errno != EINTR)
      throw std::runtime_error("cannot type into the pty");
  }
}

std::optional<int> pty_session::wait_exit(std::chrono::milliseconds timeout) {
  if (status_)
    return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false;
  for (;;) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pump(0);
      status_ = st;
      return status_;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    // Wake on output or on the exit itself (the pidfd turns readable).
    pollfd fds[2] = {{pidfd_, POLLIN, 0}, {master_, POLLIN, 0}};
    ::poll(fds, eof ? 1 : 2, static_cast<int>(left.count()));
    if (!eof && fds[1].revents != 0)
      eof = !pump(0); // Once every slave side is closed, only the exit is waited for.
  }
}

} // namespace sf::test
