#pragma once
/// A chaos scenario: the plan, how the workers misbehave, which faults to inject when, and
/// what must come out. Scenarios are YAML files (see docs/RELIABILITY.md for the format).

#include "chaos/fault_knobs.hpp"

#include <caf/expected.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sf::chaos {

/// A milestone whose units are agent units: which fake agent CLI runs them and how it fails.
struct agent_fault {
  std::string cli = "claude";           ///< claude, codex or aider (tests/fixtures/agents).
  std::string scenario = "success";     ///< The fake's FAKE_AGENT_SCENARIO.
  bool once = false;                    ///< The fault in the milestone's first agent run only.
  std::optional<double> cost;           ///< FAKE_AGENT_COST (USD the agent claims).
  std::optional<double> delay;          ///< FAKE_AGENT_DELAY (seconds after each event).
  std::optional<double> silence;        ///< FAKE_AGENT_SILENCE (seconds of `silence`).
  std::optional<double> timeout;        ///< The units' `timeout:` (seconds).
  std::optional<double> idle_timeout;   ///< The units' `idle_timeout:` (seconds).
  std::optional<int> max_attempts;      ///< The units' `max_attempts:`.
};

/// The fake agent CLIs a scenario may name.
const std::vector<std::string>& agent_clis();

/// What one unit of `m` may add to the run's cost while it is in flight: its fixed cost, or
/// for an agent unit the cost its fake claims, held to what a worker reports (0 to 1e6 USD);
/// 1 USD when the fake's own default claim applies (each is less).

/// One milestone of a scenario's plan: `units` units that each append a line to `files`.
struct scenario_milestone {
  std::string id;                 ///< Milestone id.
  std::string status = "pending"; ///< Front-matter status.
  std::vector<std::string> deps;  ///< dependsOn.
  int units = 2;                  ///< Number of units.
  int slices = 1;                 ///< Units are spread over this many slices.
  double unit_seconds = 0.05;     ///< Simulated work per unit.
  double unit_cost = 0.01;        ///< Fixed cost per unit (USD).
  std::vector<std::string> files; ///< Files each unit appends to (default `<id>.txt`).
  std::string run;                ///< Shell text each unit runs instead of `sleep unit_seconds`
                                  ///< (`{mid}` and `{unit}` are replaced); empty: the sleep.
  std::optional<agent_fault> agent; ///< Set: the units are agent units of a fake agent.
};

double unit_claim(const scenario_milestone& m);

/// One action the harness takes: a verb and its arguments, e.g. {"kill-worker", {"M001"}}.
struct action {
  std::string verb;              ///< See `action_verbs()`.
  std::vector<std::string> args; ///< Words after the verb.
  std::string text;              ///< As written, for reports.
};

/// When an injection fires.
struct trigger {
  enum kind_type { event, fault_point, coordinator_exit, printed, file } kind = event;
  std::string event_kind;    ///< event: events.jsonl `kind` (progress, state_changed, ...).
  std::string milestone;     ///< event: the milestone it names (empty = any).
  std::string state;         ///< event: required `state` (empty = any).
  std::string text;          ///< event: substring of `text`; file: of the file (empty = any).
  int units = -1;            ///< event: required completedUnits (-1 = any).
  std::string point;         ///< fault_point: the named point the coordinator stops at.
  std::string output;        ///< output: text the current coordinator printed (when the
                             ///< event log itself cannot be written).
  std::string path;          ///< file: a file below the scenario's folder that must exist.
};

/// A fault: when, and what to do then.
struct injection {
  trigger when;              ///< Condition.
  std::vector<action> then;  ///< Actions, in order.
};

/// What must be true after the run.
struct expectation {
  int exit = 0;                               ///< Exit code of the last coordinator.
  std::vector<std::string> merged;            ///< Milestones merged on main.
  std::vector<std::string> not_merged;        ///< Milestones not merged on main.
  std::map<std::string, std::string> states;  ///< Last state in events.jsonl per milestone.
  std::vector<std::string> messages;          ///< Substrings of the logs or events.
  std::vector<std::string> absent;            ///< Substrings no log or event may contain.
  /// Files on the integration branch at the end and lines each must contain.
  std::map<std::string, std::vector<std::string>> main_has;
  /// Files below the project root (e.g. .sf/parallel/M001.agent.jsonl) and the most bytes each
  /// may hold at the end; a missing file holds 0.
  std::map<std::string, int64_t> max_bytes;
  /// Per agent milestone, how many times its fake agent was started in all.
  std::map<std::string, int> agent_runs;
  /// The most resident memory (MiB) any worker of the run reached; 0 = not checked.
  double worker_max_rss_mib = 0;
};

/// A whole scenario file.
struct scenario {
  std::string file;                           ///< Path it was read from.
  std::string name;                           ///< Defaults to the file's stem.
  std::string fault;                          ///< One line: the fault it injects.
  bool slow = false;                          ///< Left out of the default test run.
  double timeout = 60;                        ///< Seconds for the whole run.
  std::string worker = "fault";               ///< "fault" (built-in) or "original" (sh script).
  std::string branch = "main";                ///< The repository's integration branch.
  std::map<std::string, std::string> preferences; ///< `parallel:` keys over the harness's.
  std::vector<scenario_milestone> milestones; ///< The plan.
  std::map<std::string, fault_knobs> knobs; ///< Per milestone (forge_pid -1: bystander).
  /// True when a milestone has `agent:` (the run needs the fake agent CLIs).
  bool needs_agents() const;
  std::vector<action> before_start;           ///< Done before the first coordinator starts.
  std::vector<injection> inject;              ///< Faults.
  expectation expect;                         ///< Outcome.
};

/// Every action verb and its argument count, for validation and docs.
const std::map<std::string, int>& action_verbs();

/// Reads and validates a scenario; errors name the file, line, key and the fix.
caf::expected<scenario> load_scenario(const std::string& path);

} // namespace sf::chaos
