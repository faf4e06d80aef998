#pragma once
/// A program run on a real pseudo-terminal, as a person at a terminal runs it: the test reads
/// what the screen shows and types keys (Ctrl-C is the byte 0x03, turned into SIGINT by the
/// terminal's line discipline, not sent by the test).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sf::test {

class pty_session {
public:
  /// Starts `argv` (argv[0] a path) in `cwd` with `env` on a new pty of 120 x 40 characters.
  pty_session(const std::vector<std::string>& argv, const std::string& cwd,
              const std::vector<std::string>& env);
  ~pty_session(); ///< Kills what still runs (SIGKILL to its process group) and reaps it.
  pty_session(const pty_session&) = delete;
  pty_session& operator=(const pty_session&) = delete;

  /// Reads the screen until `needle` appears at or after offset `from`, at most `timeout`.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout,
                std::size_t from = 0);

  /// Types `keys` as the keyboard would.
  void type(const std::string& keys);

  /// Everything the program wrote to the terminal so far (escape sequences included).
  const std::string& screen() const { return out_; }

  /// Reads the screen until the program exits, at most `timeout`; its wait status.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
  bool pump(int timeout_ms); ///< Reads what is there (waiting up to timeout_ms); false at EOF.
  int master_ = -1;
  int pidfd_ = -1;
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_;
};

} // namespace sf::test
