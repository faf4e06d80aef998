#include "agents/agent_process.hpp"

#include "messages/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

extern char** environ;

namespace sf::test {

std::string fake_agent(const std::string& name) {
  return std::string(SF_AGENT_FIXTURES) + "/" + name;
}

agent_process::agent_process(const agent_profile& profile, const agents::launch_request& req,
                             const std::vector<std::string>& env)
    : stream_(agents::make_agent_stream(profile.adapter)) {
  auto line = agents::build_launch(profile, req);
  if (!line)
    throw std::runtime_error(describe(line.error()));
  line_ = *line;
  stream_->on_transcript([this](const std::string& l) { transcript_.push_back(l); });
  std::vector<std::string> base;
  for (char** e = environ; *e != nullptr; ++e)
    base.emplace_back(*e);
  base.insert(base.end(), env.begin(), env.end());
  // Later entries win in the child: drop earlier duplicates of the variables given here.
  std::vector<std::string> merged;
  for (std::size_t i = 0; i < base.size(); ++i) {
    auto key = base[i].substr(0, base[i].find('='));
    bool overridden = false;
    for (std::size_t k = i + 1; k < base.size() && !overridden; ++k)
      overridden = base[k].compare(0, key.size() + 1, key + "=") == 0;
    if (!overridden)
      merged.push_back(base[i]);
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2 failed");
  out_ = io::unique_fd(fds[0]);
  io::unique_fd write_end(fds[1]);
  io::unique_fd input;
  if (line_.stdin_is_prompt) {
    input = io::unique_fd(::open(req.prompt_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!input)
      throw std::runtime_error("cannot open the prompt file " + req.prompt_file);
  }
  io::spawn_request spawn;
  spawn.argv = line_.argv;
  spawn.cwd = line_.cwd;
  spawn.env = agents::launch_environment(line_, merged);
  spawn.output_fd = write_end.get();
  spawn.input_fd = input ? input.get() : -1;
  auto child = io::spawn_process(spawn);
  if (!child)
    throw std::runtime_error(describe(child.error()));
  child_ = std::move(*child);
}

agent_process::~agent_process() {
  if (child_.pid() < 0 || child_.reaped())
    return;
  (void)child_.signal_group(SIGKILL);
  pollfd pfd{child_.pidfd(), POLLIN, 0};
  ::poll(&pfd, 1, 2000);
  int status = 0;
  child_.try_reap(status);
}

bool agent_process::pump(std::chrono::milliseconds timeout) {
  if (ended_)
    return false;
  pollfd pfd{out_.get(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0)
    return true;
  char buf[65536];
  ssize_t n = ::read(out_.get(), buf, sizeof buf);
  if (n > 0) {
    output_.append(buf, static_cast<std::size_t>(n));
    stream_->feed(std::string_view(buf, static_cast<std::size_t>(n)));
    return true;
  }
  ended_ = true;
  stream_->finish();
  return false;
}

bool agent_process::read_until(const std::function<bool(const agents::stream_report&)>& pred,
                               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred(report())) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !pump(left))
      return pred(report());
  }
  return true;
}

std::optional<int> agent_process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  read_until([](const agents::stream_report&) { return false; }, timeout);
  if (!ended_)
    return std::nullopt;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd pfd{child_.pidfd(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(std::max<long long>(0, left.count()))) <= 0)
    return std::nullopt;
  int status = 0;
  if (!child_.try_reap(status))
    return std::nullopt;
  return status;
}

void agent_process::signal(int sig) {
  (void)child_.signal_group(sig);
}

bool exited_with(int status, int code) {
  return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

} // namespace sf::test
