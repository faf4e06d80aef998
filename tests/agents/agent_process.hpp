#pragma once
/// Runs an agent CLI (the fakes in tests/fixtures/agents) as a real child process from its
/// launch line, reading its output (stdout and stderr in one pipe, as the worker does) through
/// the adapter's parser.

#include "agents/agent_launch.hpp"
#include "agents/agent_stream.hpp"
#include "io/os/process.hpp"
#include "io/os/unique_fd.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sf::test {

/// Path of a fake agent executable (`claude`, `codex`, `aider`).
std::string fake_agent(const std::string& name);

/// One running agent and the parser of its output.
class agent_process {
public:
  /// Builds the launch line of `profile` for `req` and starts it with this process's
  /// environment plus `env` (`KEY=VALUE`); throws when the line or the spawn fails.
  agent_process(const agent_profile& profile, const agents::launch_request& req,
                const std::vector<std::string>& env);

  /// Kills the agent's group and reaps it if it still runs (a failed test leaves no process).
  ~agent_process();

  agent_process(const agent_process&) = delete;
  agent_process& operator=(const agent_process&) = delete;

  /// Reads output until `pred` holds on the report, the output ends, or `timeout` passes;
  /// returns whether `pred` holds.
  bool read_until(const std::function<bool(const agents::stream_report&)>& pred,
                  std::chrono::milliseconds timeout);

  /// Reads all output, then waits for the exit; the waitpid status, or empty on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  /// Sends `sig` to the agent's process group.
  void signal(int sig);

  /// What the parser read so far.
  const agents::stream_report& report() const { return stream_->report(); }

  /// The transcript lines so far.
  const std::vector<std::string>& transcript() const { return transcript_; }

  /// Everything the agent printed, as it printed it.
  const std::string& output() const { return output_; }

  /// The launch line it was started with.
  const agents::launch_line& line() const { return line_; }

private:
  // Reads what arrives within `timeout`; false once the output ended.
  bool pump(std::chrono::milliseconds timeout);

  agents::launch_line line_;
  std::unique_ptr<agents::agent_stream> stream_;
  std::vector<std::string> transcript_;
  std::string output_;
  io::unique_fd out_;
  io::child_process child_;
  bool ended_ = false;
};

/// True when the status is a normal exit with `code`.
bool exited_with(int status, int code);

} // namespace sf::test
