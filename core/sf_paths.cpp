#include "core/sf_paths.hpp"

namespace sf::core {

namespace {

std::string under(const std::string& root, std::string_view rel) {
  std::string out;
  out.reserve(root.size() + 1 + rel.size());
  out += root;
  out += '/';
  out += rel;
  return out;
}

std::string with(std::string base, std::string_view a, std::string_view b = {}) {
  base += a;
  base += b;
  return base;
}

} // namespace

std::string parallel_dir(const std::string& root) {
  return under(root, ".sf/parallel");
}

std::string parallel_file(const std::string& root, std::string_view name) {
  return with(under(root, tree_path::parallel), name);
}

std::string status_file(const std::string& root, std::string_view mid) {
  return with(parallel_file(root, mid), ".status.json");
}

std::string signal_file(const std::string& root, std::string_view mid) {
  return with(parallel_file(root, mid), ".signal.json");
}

std::string prompt_file(const std::string& root, std::string_view mid) {
  return with(parallel_file(root, mid), ".prompt.md");
}

std::string agent_stream_file(const std::string& root, std::string_view mid) {
  return with(parallel_file(root, mid), ".agent.jsonl");
}

std::string worker_log(const std::string& root, std::string_view mid) {
  return with(parallel_file(root, mid), ".log");
}

std::string control_dir(const std::string& root) {
  return parallel_file(root, "control");
}

std::string gate_worktree_dir(const std::string& root) {
  // Under the ignored worktrees folder; '_' starts no milestone id, so it is never one's.
  return under(root, ".sf/worktrees/_gate");
}

std::string gate_log(const std::string& root) {
  return parallel_file(root, "gate.log");
}

std::string gate_failure_file(const std::string& root, std::string_view mid) {
  return with(parallel_file(root, mid), ".gate-failure.md");
}

std::string worktrees_dir(const std::string& root) {
  return under(root, ".sf/worktrees");
}

std::string worktree_dir(const std::string& root, std::string_view mid) {
  return with(under(root, tree_path::worktrees), mid);
}

std::string milestones_dir(const std::string& root) {
  return under(root, ".sf/milestones");
}

std::string milestone_file(const std::string& root, std::string_view mid) {
  return under(root, tree_path::milestone_file(mid));
}

std::string preferences_file(const std::string& root) {
  return under(root, ".sf/PREFERENCES.md");
}

std::string metrics_file(const std::string& root) {
  return under(root, tree_path::metrics);
}

std::string auto_lock_file(const std::string& root) {
  return under(root, tree_path::auto_lock);
}

std::string tree_path::milestone_file(std::string_view mid) {
  return with(std::string(milestones), mid, "/MILESTONE.md");
}

} // namespace sf::core
