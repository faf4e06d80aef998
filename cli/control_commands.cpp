// `sf-actors stop|pause|resume [MID] [--json]`: through the coordinator when one runs, else on
// the files.
#include "cli/command.hpp"
#include "core/milestone_state.hpp"
#include "io/files/control_file.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>

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

// What the command did, for --json (docs/schemas/control-output.schema.json); `via` is
// "coordinator" or "signal_file".
nlohmann::json control_json(const std::string& verb, const std::string& mid, const char* via) {
  return {{"command", verb},
          {"milestone", mid.empty() ? nlohmann::json(nullptr) : nlohmann::json(mid)},
          {"via", via},
          {"milestones", nlohmann::json::array()},
          {"messages", nlohmann::json::array()},
          {"exitCode", exit_ok}};
}

// The coordinator's answer as data: its milestone entries, and the lines about none of them.
nlohmann::json coordinator_json(const std::string& verb, const std::string& mid,
                                const io::control_response& reply) {
  auto doc = control_json(verb, mid, "coordinator");
  std::set<std::string> milestone_lines;
  for (const auto& m : reply.milestones) {
    doc["milestones"].push_back({{"milestoneId", m.milestone},
                                 {"state", std::string(core::to_string(m.state))},
                                 {"text", m.text}});
    milestone_lines.insert(m.milestone + ": " + m.text);
    milestone_lines.insert(m.text);
  }
  for (const auto& line : reply.lines)
    if (milestone_lines.count(line) == 0)
      doc["messages"].push_back(line);
  return doc;
}

// Through the coordinator when one runs, else by signal files. With `json`, what was done goes
// into `doc` instead of onto standard output (errors still go to standard error).
int run_control_on(const std::string& root, const std::string& verb, io::signal_kind kind,
                   const std::string& mid, nlohmann::json* doc) {
  if (auto answer = ask_coordinator(root, verb, mid, false, std::chrono::seconds(15))) {
    if (!*answer)
      return fail(answer->error());
    const auto& reply = **answer;
    if (doc != nullptr)
      *doc = coordinator_json(verb, mid, reply);
    else
      for (const auto& line : reply.lines)
        std::cout << line << '\n';
    return reply.exit_code;
  }
  // No coordinator: leave the signal where the worker looks between units.
  if (doc != nullptr)
    *doc = control_json(verb, mid, "signal_file");
  auto targets = mid.empty() ? milestones_with_status(root) : std::vector<std::string>{mid};
  if (targets.empty()) {
    const std::string none = "no worker is running (no coordinator and no status files)";
    if (doc != nullptr)
      (*doc)["messages"].push_back(none);
    else
      std::cout << none << '\n';
    return exit_ok;
  }
  for (const auto& target : targets) {
    // A pause of a worker that holds already is answered, not sent again.
    auto st = io::read_status(root, target);
    std::string text;
    if (!st && code_of(st.error()) == ec::not_found) {
      // No worker of it runs: a signal left now would surprise the next one that starts.
      text = "no worker is running (no coordinator and no status file); nothing sent";
    } else if (kind == io::signal_kind::pause && st && st->state == core::worker_state::paused) {
      text = "already paused (no coordinator is running)";
    } else {
      if (auto err = io::send_signal(root, target, kind))
        return fail(err);
      text = verb + " signal written (no coordinator is running; the worker reads it between "
                    "units)";
    }
    if (doc != nullptr)
      (*doc)["milestones"].push_back(
        {{"milestoneId", target}, {"state", nullptr}, {"text", text}});
    else
      std::cout << target << ": " << text << '\n';
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
  nlohmann::json doc;
  code = run_control_on(root, verb, kind, mid, g.json ? &doc : nullptr);
  code = unsafe && code == exit_ok ? exit_failure : code;
  // Printed only when the command got as far as doing something; a failure says why on stderr.
  if (g.json && !doc.is_null()) {
    doc["exitCode"] = code;
    std::cout << doc.dump(2) << '\n';
  }
  return code;
}

std::function<int()> setup_control(CLI::App& app, global_options& g, const char* verb,
                                   io::signal_kind kind) {
  auto mid = std::make_shared<std::string>();
  app.add_option("milestone", *mid, "Only this milestone (default: every worker)")
    ->type_name("MID");
  app.add_flag("--json", g.json, "Print what was done to each milestone as JSON");
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
