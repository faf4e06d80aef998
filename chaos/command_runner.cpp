#include "chaos/command_runner.hpp"

#include "io/os/process.hpp"
#include "io/os/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sf::chaos {

command_output run_command(const std::vector<std::string>& argv, const std::string& cwd,
                           const std::vector<std::string>& env, std::chrono::milliseconds timeout) {
  command_output res;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    res.out = "cannot create a pipe";
    return res;
  }
  io::unique_fd read_end{fds[0]};
  io::unique_fd write_end{fds[1]};
  io::spawn_request req;
  req.argv = argv;
  req.cwd = cwd;
  req.env = env;
  req.output_fd = write_end.get();
  auto child = io::spawn_process(req);
  write_end.reset();
  if (!child) {
    res.out = "cannot run " + argv.front();
    return res;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  bool open = true;
  int status = 0;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      (void) child->signal_group(SIGKILL);
      pollfd pfd{child->pidfd(), POLLIN, 0};
      ::poll(&pfd, 1, 5000);
      child->try_reap(status);
      res.out += "\n(timed out)";
      return res;
    }
    pollfd pfds[2] = {{child->pidfd(), POLLIN, 0}, {read_end.get(), POLLIN, 0}};
    ::poll(pfds, open ? 2 : 1, static_cast<int>(left));
    if (open && (pfds[1].revents & (POLLIN | POLLHUP)) != 0) {
      auto n = ::read(read_end.get(), buf, sizeof buf);
      if (n > 0)
        res.out.append(buf, static_cast<std::size_t>(n));
      else if (n == 0)
        open = false;
    }
    if (!open && child->try_reap(status))
      break;
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

} // namespace sf::chaos
