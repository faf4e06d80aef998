#pragma once
/// Runs a short command for the chaos harness (git, the CLI) and captures what it printed.

#include <chrono>
#include <string>
#include <vector>

namespace sf::chaos {

/// How a command ended.
struct command_output {
  int exit_code = -1; ///< Exit code, 128+signal, or -1 when it could not start or timed out.
  std::string out;    ///< stdout and stderr together.
};

/// Runs `argv` in `cwd` with `env`, killing it after `timeout`.
command_output run_command(const std::vector<std::string>& argv, const std::string& cwd,
                           const std::vector<std::string>& env,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

} // namespace sf::chaos
