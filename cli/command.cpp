#include "cli/command.hpp"

#include "io/files/control_file.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/runtime_files.hpp"
#include "io/git/main_worktree.hpp"
#include "messages/error.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace sf::cli {

std::string project_root(const global_options& g) {
  std::error_code err;
  fs::path start = g.directory.empty() ? fs::current_path(err) : fs::absolute(g.directory, err);
  start = fs::weakly_canonical(start, err);
  // A linked worktree (a milestone's, or one of `git worktree add`) belongs to the project of
  // the main worktree, so a command there acts on that project and no coordinator nests.
  if (auto main = io::main_worktree_of(start.string()); !main.empty())
    return main;
  // Like git, search upwards so the CLI works from any subfolder of the project.
  for (auto dir = start; !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / ".sf", err) || fs::exists(dir / ".git", err))
      return dir.string();
    if (dir == dir.root_path())
      break;
  }
  return start.string();
}

bool check_directory_option(const global_options& g, int& code) {
  if (g.directory.empty())
    return true;
  std::error_code err;
  auto st = fs::status(g.directory, err);
  if (fs::is_directory(st))
    return true;
  code = fail("-C " + g.directory +
                (fs::exists(st) ? ": not a folder" : ": no such folder") +
                "; name an existing project folder (create it first with mkdir -p)",
              exit_failure);
  return false;
}

int exit_code_for(const caf::error& err) {
  switch (code_of(err)) {
    case ec::not_enabled: return exit_not_enabled;
    case ec::nothing_eligible: return exit_nothing_eligible;
    case ec::merge_conflict: return exit_merge_conflict;
    case ec::budget_reached: return exit_budget_reached;
    case ec::already_running: return exit_busy;
    case ec::usage:
    case ec::unavailable: return exit_usage;
    default: return exit_failure;
  }
}

int fail(const caf::error& err) {
  std::cerr << "sf-actors: " << describe(err) << '\n';
  return exit_code_for(err);
}

int fail(const std::string& text, int code) {
  std::cerr << "sf-actors: " << text << '\n';
  return code;
}

bool load_preferences_or_report(const std::string& root, preferences& out, int& code) {
  auto prefs = load_preferences(root);
  if (!prefs) {
    code = fail(prefs.error());
    return false;
  }
  for (const auto& w : prefs->warnings)
    std::cerr << "sf-actors: warning: " << w << '\n';
  out = std::move(*prefs);
  return true;
}

bool load_plan_or_report(const std::string& root, plan& out, int& code) {
  auto p = load_plan(root);
  if (!p) {
    code = fail(p.error());
    return false;
  }
  out = std::move(*p);
  return true;
}

bool require_enabled(const preferences& prefs, int& code) {
  if (prefs.enabled)
    return true;
  code = fail("Parallel mode is not enabled. Fix: set `parallel.enabled: true` in "
              ".sf/PREFERENCES.md (or ~/.sf/PREFERENCES.md), e.g. with `sf-actors init` and an edit.",
              exit_not_enabled);
  return false;
}

bool load_enabled_project(const global_options& g, const std::string& mid, project_context& out,
                          int& code) {
  out.root = project_root(g);
  if (!load_preferences_or_report(out.root, out.prefs, code) || !require_enabled(out.prefs, code))
    return false;
  if (!load_plan_or_report(out.root, out.milestones, code))
    return false;
  return check_milestone_known(out.root, out.milestones, mid, code);
}

bool check_milestone_known(const std::string& root, const plan& p, const std::string& mid,
                           int& code) {
  if (mid.empty() || p.find(mid) != nullptr)
    return true;
  code = fail("unknown milestone `" + mid + "`: not in " + root +
                "/.sf/milestones; run `sf-actors graph` to list milestones",
              exit_failure);
  return false;
}

std::size_t report_unsafe_runtime_files(const std::string& root) {
  auto all = io::unsafe_runtime_files(root);
  for (const auto& f : all)
    std::cerr << "sf-actors: " << describe(f.error) << '\n';
  return all.size();
}

std::optional<caf::expected<io::control_response>>
ask_coordinator(const std::string& root, const std::string& verb, const std::string& mid,
                bool dry_run, std::chrono::milliseconds timeout) {
  if (!io::coordinator_lock::is_held(root))
    return std::nullopt;
  auto reply = io::send_control_request(root, verb, mid, timeout, dry_run);
  if (!reply && code_of(reply.error()) == ec::not_found)
    return std::nullopt; // It ended meanwhile: act on the files as without a coordinator.
  return reply;
}

bool forward_to_coordinator(const std::string& root, const std::string& verb,
                            const std::string& mid, bool dry_run,
                            std::chrono::milliseconds timeout, int& code,
                            const std::function<void(const merge_report&)>& show_report) {
  auto answer = ask_coordinator(root, verb, mid, dry_run, timeout);
  if (!answer)
    return false;
  auto& reply = *answer;
  if (!reply) {
    code = fail(reply.error());
    return true;
  }
  for (const auto& line : reply->lines)
    std::cout << line << '\n';
  if (reply->merge && show_report)
    show_report(*reply->merge);
  code = reply->exit_code;
  return true;
}

std::function<int()> setup_unavailable(CLI::App&, global_options&, const char* name) {
  return [name]() -> int {
    return fail(std::string("`") + name + "` is not available yet in this version of sf-actors",
                exit_usage);
  };
}

} // namespace sf::cli
