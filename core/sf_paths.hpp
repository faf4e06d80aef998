#pragma once
/// sf_paths: where every file of sf-actors lives under a project root (or a worktree), built in
/// one place. Plain string arithmetic: nothing here touches the disk. Runtime files keep their
/// protocol names (see docs/protocol.md).

#include <string>
#include <string_view>

namespace sf::core {

/// `<root>/.sf/parallel`: runtime files (status, signals, run.json, logs, locks).
std::string parallel_dir(const std::string& root);

/// `<root>/.sf/parallel/<name>`.
std::string parallel_file(const std::string& root, std::string_view name);

/// `<root>/.sf/parallel/<mid>.status.json`: what a worker says of itself.
std::string status_file(const std::string& root, std::string_view mid);

/// `<root>/.sf/parallel/<mid>.signal.json`: what the coordinator asks of a worker.
std::string signal_file(const std::string& root, std::string_view mid);

/// `<root>/.sf/parallel/<mid>.prompt.md`: the prompt of the unit the worker of `mid` runs.
std::string prompt_file(const std::string& root, std::string_view mid);

/// `<root>/.sf/parallel/<mid>.agent.jsonl`: the raw output of the agent a worker of `mid` runs
/// (its readable transcript is in the worker's log).
std::string agent_stream_file(const std::string& root, std::string_view mid);

/// `<root>/.sf/parallel/<mid>.log`: a worker's output.
std::string worker_log(const std::string& root, std::string_view mid);

/// `<root>/.sf/parallel/control`: requests of other terminals to the coordinator.
std::string control_dir(const std::string& root);

/// `<root>/.sf/worktrees`: one git worktree per milestone.
std::string worktrees_dir(const std::string& root);

/// `<root>/.sf/worktrees/<mid>`.
std::string worktree_dir(const std::string& root, std::string_view mid);

/// `<root>/.sf/worktrees/_gate`: the merge gate's long-lived worktree.
std::string gate_worktree_dir(const std::string& root);

/// `<root>/.sf/parallel/gate.log`: the merge gate command's output.
std::string gate_log(const std::string& root);

/// `<root>/.sf/parallel/<mid>.gate-failure.md`: why `mid` last failed the merge gate.
std::string gate_failure_file(const std::string& root, std::string_view mid);

/// `<root>/.sf/milestones`: the plan, one folder per milestone.
std::string milestones_dir(const std::string& root);

/// `<root>/.sf/milestones/<mid>/MILESTONE.md`.
std::string milestone_file(const std::string& root, std::string_view mid);

/// `<root>/.sf/PREFERENCES.md` (also `~/.sf/PREFERENCES.md` with the home folder as root).
std::string preferences_file(const std::string& root);

/// `<root>/.sf/metrics.json`: cost and units per milestone, committed with the units.
std::string metrics_file(const std::string& root);

/// `<root>/.sf/auto.lock`: the lock a worker holds in its worktree.
std::string auto_lock_file(const std::string& root);

/// The same files as git names them, relative to the top of a tree.
namespace tree_path {
inline constexpr std::string_view sf = ".sf";                     ///< The folder itself.
inline constexpr std::string_view metrics = ".sf/metrics.json";   ///< metrics.json.
inline constexpr std::string_view auto_lock = ".sf/auto.lock";    ///< auto.lock.
inline constexpr std::string_view milestones = ".sf/milestones/"; ///< Prefix of the plan.
inline constexpr std::string_view parallel = ".sf/parallel/";     ///< Prefix of runtime files.
inline constexpr std::string_view worktrees = ".sf/worktrees/";   ///< Prefix of worktrees.
/// `.sf/milestones/<mid>/MILESTONE.md`.
std::string milestone_file(std::string_view mid);
} // namespace tree_path

} // namespace sf::core
