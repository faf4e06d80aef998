// `sf-actors stop|pause|resume [MID]`: through the coordinator when one runs, else on the files.
#include "cli/command.hpp"
#include "io/files/control_file.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "messages/error.hpp"

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace sf::cli {

namespace {

std::vector<std::string> milestones_with_status(const std::string& root) {
  std::vector<std::string> out;
  auto dir = io::open_parallel_dir(root);
  if (!dir)
    return out;
  if (DIR* d = ::opendir(dir->path.c_str())) {
    while (auto* ent = ::readdir(d))
      if (auto parsed = io::parse_parallel_name(ent->d_name);
          parsed && parsed->kind == io::parallel_file_kind::status)
        out.push_back(parsed->mid);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Through the coordinator when one runs, else by signal files.
int run_control_on(const std::string& root, const std::string& verb, io::signal_kind kind,
                   const std::string& mid) {
  int code = exit_ok;
  if (forward_to_coordinator(root, verb, mid, false, std::chrono::seconds(15), code))
    return code;
  // No coordinator: leave the signal where the worker looks between units.
  auto targets = mid.empty() ? milestones_with_status(root) : std::vector<std::string>{mid};
  if (targets.empty()) {
    std::cout << "no worker is running (no coordinator and no status files)\n";
    return exit_ok;
  }
  for (const auto& target : targets) {
    if (auto err = io::send_signal(root, target, kind))
      return fail(err);
    std::cout << target << ": " << verb
              << " signal written (no coordinator is running; the worker reads it between "
                 "units)\n";
  }
  return exit_ok;
}

// `stop` needs no `parallel.enabled`: turning the switch off must never leave workers running
// that nothing can end. Its preferences and plan are still read (a typo is still reported).
bool load_project_for_stop(const global_options& g, const std::string& mid, std::string& root,
                           int& code) {
  root = project_root(g);
  preferences prefs;
  plan p;
  return load_preferences_or_report(root, prefs, code) && load_plan_or_report(root, p, code) &&
         check_milestone_known(root, p, mid, code);
}

int run_control(const global_options& g, const std::string& verb, io::signal_kind kind,
                const std::string& mid) {
  int code = exit_ok;
  std::string root;
  if (kind == io::signal_kind::stop) {
    if (!load_project_for_stop(g, mid, root, code))
      return code;
  } else {
    project_context ctx;
    if (!load_enabled_project(g, mid, ctx, code))
      return code;
    root = ctx.root;
  }
  // A planted link or FIFO is reported, but the command still does what it can: a stop must
  // reach a running coordinator whatever else is wrong. The exit code then says it.
  const bool unsafe = report_unsafe_runtime_files(root) > 0;
  code = run_control_on(root, verb, kind, mid);
  return unsafe && code == exit_ok ? exit_failure : code;
}

std::function<int()> setup_control(CLI::App& app, global_options& g, const char* verb,
                                   io::signal_kind kind) {
  auto mid = std::make_shared<std::string>();
  app.add_option("milestone", *mid, "Only this milestone (default: every worker)")
    ->type_name("MID");
  return [&g, verb, kind, mid] { return run_control(g, verb, kind, *mid); };
}

} // namespace

std::function<int()> setup_stop(CLI::App& app, global_options& g) {
  return setup_control(app, g, "stop", io::signal_kind::stop);
}

std::function<int()> setup_pause(CLI::App& app, global_options& g) {
  return setup_control(app, g, "pause", io::signal_kind::pause);
}

std::function<int()> setup_resume(CLI::App& app, global_options& g) {
  return setup_control(app, g, "resume", io::signal_kind::resume);
}

} // namespace sf::cli
