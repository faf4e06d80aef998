#pragma once
/// What every `sf-actors` verb shares: the project root, output mode, exit codes, error printing.

#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "io/files/control_file.hpp"
#include "messages/types.hpp"

#include <CLI/CLI.hpp>
#include <caf/error.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sf::cli {

/// Documented exit codes (README, "Exit codes").
enum exit_code : int {
  exit_ok = 0,              ///< Success.
  exit_failure = 1,         ///< Bad input or a failed operation (the message says which).
  exit_usage = 2,           ///< Wrong command line, or a command not available yet.
  exit_not_enabled = 3,     ///< `parallel.enabled` is false.
  exit_nothing_eligible = 4,///< No milestone can start.
  exit_merge_conflict = 5,  ///< A merge stopped on a conflict.
  exit_budget_reached = 6,  ///< The budget ceiling is reached.
  exit_busy = 7,            ///< Another coordinator already runs for this project.
  exit_push_failed = 8,     ///< Merged into main, but pushing main to `push_remote` failed.
  exit_gate_failed = 9,     ///< The merge gate failed on a merge; main did not receive it.
  exit_interrupted = 130,   ///< Ended by Ctrl-C (128 + the signal: 143 for SIGTERM).
};

/// Options every verb understands.
struct global_options {
  std::string directory; ///< `-C <dir>`: act as if started there.
  bool json = false;     ///< `--json`: print data as JSON.
  int verbose = 0;       ///< `-v` given this many times: a more detailed coordinator log.
  int quiet = 0;         ///< `-q` given this many times: a sparser coordinator log.
};

/// One verb: its name, its help line, how it declares options, and how it runs.
struct command {
  const char* name;                                          ///< Subcommand name.
  const char* help;                                          ///< One-line description.
  std::function<std::function<int()>(CLI::App&, global_options&)> setup; ///< Adds options, returns the runner.
  bool hidden = false; ///< Left out of the help (helper processes of other verbs).
};

/// Every verb, in help order.
const std::vector<command>& commands();

/// The names of every verb, hidden ones included.
const std::vector<std::string>& all_verb_names();

/// The names of the verbs the help lists.
const std::vector<std::string>& visible_verb_names();

/// What `--version` and `sf-actors version` print.
inline constexpr const char* version_text = "sf-actors " SF_VERSION;

/// Adds the options every verb understands, before or after it: `-C`, `-v`, `-q`.
void add_global_options(CLI::App& app, global_options& g);

/// The project root: `-C` or the working directory; inside a linked worktree the main worktree
/// (through the common git dir), else the nearest ancestor holding `.sf` or `.git`.
std::string project_root(const global_options& g);

/// False, after printing why, when `-C` names something that is not an existing folder.
bool check_directory_option(const global_options& g, int& code);

/// Prints `sf-actors: <describe(err)>` to stderr and returns the exit code for its category.
int fail(const caf::error& err);

/// Prints `sf-actors: <text>` to stderr and returns `code`.
int fail(const std::string& text, int code);

/// Exit code for an error category.
int exit_code_for(const caf::error& err);

/// Loads the preferences, printing warnings to stderr; on error prints it and sets `code`.
bool load_preferences_or_report(const std::string& root, preferences& out, int& code);

/// Loads the plan; on error prints it and sets `code`.
bool load_plan_or_report(const std::string& root, plan& out, int& code);

/// Fails with the spec's message and the fix when `parallel.enabled` is false.
bool require_enabled(const preferences& prefs, int& code);

/// True when `mid` is empty or in `p`; otherwise prints that it is unknown and how to list the
/// milestones, and sets `code`.
bool check_milestone_known(const std::string& root, const plan& p, const std::string& mid,
                           int& code);

/// What the verbs acting on a project share: its root, preferences and plan.
struct project_context {
  std::string root;   ///< Project root.
  preferences prefs;  ///< Validated preferences (parallel enabled).
  plan milestones;    ///< Validated plan.
};

/// Loads the root, the preferences (requiring `parallel.enabled`) and the plan, and checks that
/// `mid` (when not empty) is in the plan; on failure prints why and sets `code`.
bool load_enabled_project(const global_options& g, const std::string& mid, project_context& out,
                          int& code);

/// Prints every runtime file of `root` that is a link, FIFO, folder or other non-regular file
/// (`io::unsafe_runtime_files`) as `sf-actors: <message>` on stderr; returns how many.
std::size_t report_unsafe_runtime_files(const std::string& root);

/// When a coordinator runs for `root`: sends it `verb` through the control channel and returns
/// its answer, or why asking failed. Empty when no coordinator runs (or it ended meanwhile).
std::optional<caf::expected<io::control_response>>
ask_coordinator(const std::string& root, const std::string& verb, const std::string& mid,
                bool dry_run, std::chrono::milliseconds timeout);

/// When a coordinator runs for `root`: sends it `verb` through the control channel, shows its
/// answer (a merge report through `show_report`, other answers as lines), sets `code` and
/// returns true. Returns false when no coordinator runs.
bool forward_to_coordinator(const std::string& root, const std::string& verb,
                            const std::string& mid, bool dry_run,
                            std::chrono::milliseconds timeout, int& code,
                            const std::function<void(const merge_report&)>& show_report = {});

// Verb factories, one per file.
std::function<int()> setup_eligibility(CLI::App& app, global_options& g);
std::function<int()> setup_graph(CLI::App& app, global_options& g);
std::function<int()> setup_init(CLI::App& app, global_options& g);
std::function<int()> setup_start(CLI::App& app, global_options& g);
std::function<int()> setup_status(CLI::App& app, global_options& g);
std::function<int()> setup_budget(CLI::App& app, global_options& g);
std::function<int()> setup_stop(CLI::App& app, global_options& g);
std::function<int()> setup_pause(CLI::App& app, global_options& g);
std::function<int()> setup_resume(CLI::App& app, global_options& g);
std::function<int()> setup_merge(CLI::App& app, global_options& g);
std::function<int()> setup_worker(CLI::App& app, global_options& g);
std::function<int()> setup_doctor(CLI::App& app, global_options& g);
std::function<int()> setup_check_worker(CLI::App& app, global_options& g);
std::function<int()> setup_chaos(CLI::App& app, global_options& g);
std::function<int()> setup_chaos_worker(CLI::App& app, global_options& g);
std::function<int()> setup_merge_driver(CLI::App& app, global_options& g);
std::function<int()> setup_chaos_bystander(CLI::App& app, global_options& g);
std::function<int()> setup_help(CLI::App& app, global_options& g);
std::function<int()> setup_version(CLI::App& app, global_options& g);
std::function<int()> setup_logs(CLI::App& app, global_options& g);
std::function<int()> setup_generate(CLI::App& app, global_options& g);
std::function<int()> setup_unavailable(CLI::App& app, global_options& g, const char* name);

} // namespace sf::cli
