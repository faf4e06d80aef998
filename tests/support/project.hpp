#pragma once
/// A real project for integration tests: a git repository with a plan and preferences, the
/// CLI run as a real child process, and event-driven waits on `.sf/parallel/`.

#include "io/files/status_file.hpp"
#include "io/os/process.hpp"
#include "messages/types.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sf::test {

/// One unit of a milestone in a test plan.
struct unit_spec {
  std::string id;                  ///< Unit id.
  std::string run;                 ///< Shell command.
  std::vector<std::string> files;  ///< Files it touches.
  double cost = -1;                ///< Fixed cost, or -1 for none.
};

/// One milestone in a test plan.
struct milestone_spec {
  std::string id;                  ///< Milestone id.
  std::string status = "pending";  ///< Front-matter status.
  std::vector<std::string> deps;   ///< dependsOn.
  std::vector<unit_spec> units;    ///< In one slice S01.
  std::string title;               ///< Defaults to "Milestone <id>".
};

/// A pending milestone with these dependencies and units.
milestone_spec ms(const std::string& id, std::vector<std::string> deps,
                  std::vector<unit_spec> units);

/// MILESTONE.md text for a spec.
std::string milestone_text(const milestone_spec& m);

/// A git repository in a temp folder with `.sf/PREFERENCES.md` and `.sf/milestones/`.
class test_project {
public:
  /// Writes the plan and `parallel:` preferences (YAML lines, indented by the caller), commits.
  test_project(const std::vector<milestone_spec>& plan, const std::string& parallel_yaml);

  /// Absolute project root.
  const std::string& root() const { return dir_.path(); }

  /// `root() + "/" + rel`.
  std::string path(const std::string& rel) const { return dir_ / rel; }

  /// Runs the CLI synchronously in the root.
  command_result cli(const std::string& args) const;

  /// Starts the CLI as a child process (output to `<root>/cli-<n>.log`).
  io::child_process spawn_cli(const std::vector<std::string>& args);

  /// Log path of the n-th spawned CLI.
  std::string cli_log(int n) const;

  /// Runs git with `args` in the root; returns stdout, throws on failure.
  std::string git(const std::string& args) const;

private:
  temp_dir dir_;
  int spawned_ = 0;
};

/// Waits until `pred` holds, re-checking whenever `.sf/parallel/` of `root` changes (inotify),
/// at most `timeout`. Returns the final value of `pred`.
bool wait_for(const std::string& root, const std::function<bool()>& pred,
              std::chrono::milliseconds timeout);

/// Waits up to `timeout` for `child` to exit; returns its wait status, or empty on timeout.
std::optional<int> wait_exit(io::child_process& child, std::chrono::milliseconds timeout);

/// Lines of `<root>/.sf/parallel/events.jsonl` that mention `needle`.
std::vector<std::string> event_lines(const std::string& root, const std::string& needle);

/// Timestamp (`at`) of the first event of `mid` in `state`, or -1.
int64_t event_time(const std::string& root, const std::string& mid, const std::string& state);

/// True when `pid` runs and is not a zombie (kill(pid, 0) succeeds for zombies too).
bool alive(int64_t pid);

/// The run file's row for `mid` (empty when there is none).
worker_snapshot row_of(const std::string& root, const std::string& mid);

/// The coordinator's state of `mid` from the run file, or "".
std::string state_of(const std::string& root, const std::string& mid);

/// The status file of `mid`, when it exists and parses.
std::optional<io::worker_status> status_of(const std::string& root, const std::string& mid);

/// Path of the shell worker that speaks only the original protocol.
std::string original_worker_script();

} // namespace sf::test
