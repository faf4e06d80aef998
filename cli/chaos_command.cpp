// `sf-actors chaos <scenario.yaml|folder>...`: the fault-injection harness, plus the two
// helper processes it starts (`chaos-worker`, `chaos-bystander`), hidden from the help.
#include "chaos/fault_worker.hpp"
#include "chaos/report.hpp"
#include "chaos/runner.hpp"
#include "chaos/scenario.hpp"
#include "cli/command.hpp"
#include "io/os/proc_files.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace sf::cli {

namespace {

namespace fs = std::filesystem;

struct chaos_options {
  std::vector<std::string> inputs;
  bool keep = false;
  bool slow = false;
  std::string report;
  std::string only;
  std::string agent_fixtures = SF_SOURCE_DIR "/tests/fixtures/agents";
};

std::string self_exe() {
  auto exe = io::self_exe();
  return exe.empty() ? std::string("sf-actors") : exe;
}

// Scenario files named on the command line, folders expanded to their *.yaml files in order.
std::vector<std::string> scenario_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(in, ec))
        if (e.path().extension() == ".yaml")
          found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(in);
    }
  }
  return out;
}

// The original-protocol example worker, found next to the sources the binary was built from.
std::string original_worker() {
  return SF_SOURCE_DIR "/examples/workers/original-protocol-worker.sh";
}

int run_chaos(const chaos_options& o, const global_options& g) {
  auto files = scenario_files(o.inputs);
  if (files.empty())
    return fail("no scenario files in " + o.inputs.front() +
                  "; name .yaml files or a folder holding them (e.g. chaos/scenarios)",
                exit_usage);
  // Every file is checked before anything runs: a typo must not surface after minutes.
  std::vector<chaos::scenario> scenarios;
  for (const auto& f : files) {
    auto s = chaos::load_scenario(f);
    if (!s)
      return fail(s.error());
    if (!o.only.empty() && s->name != o.only)
      continue;
    if (s->slow && !o.slow && o.only.empty()) {
      if (!g.json)
        std::cout << "== " << s->name << ": slow, skipped (add --slow)\n";
      continue;
    }
    scenarios.push_back(std::move(*s));
  }
  chaos::run_options ro;
  ro.sf_binary = self_exe();
  ro.original_worker = original_worker();
  // Absolute: the agents start in the milestones' worktrees.
  std::error_code ec;
  auto fixtures = fs::absolute(o.agent_fixtures, ec);
  ro.agent_fixtures = ec ? o.agent_fixtures : fixtures.string(); // The error names it as given.
  ro.keep = o.keep;
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0')
    ro.work_base = tmp;
  std::vector<chaos::scenario_result> results;
  for (const auto& s : scenarios) {
    results.push_back(chaos::run_scenario(s, ro));
    if (!g.json)
      std::cout << chaos::render_table({results.back()}, false) << std::flush;
  }
  if (g.json) {
    std::cout << chaos::render_json(results);
  } else {
    auto table = chaos::render_table(results);
    std::cout << table.substr(table.rfind('\n', table.size() - 2) + 1);
  }
  if (!o.report.empty()) {
    std::string cmd = "sf-actors chaos";
    if (o.slow)
      cmd += " --slow";
    cmd += " --report " + o.report;
    for (const auto& in : o.inputs)
      cmd += " " + in;
    std::ofstream out{o.report, std::ios::binary | std::ios::trunc};
    out << chaos::render_reliability_doc(results, cmd);
    if (!out)
      return fail("cannot write " + o.report + "; check the folder exists and is writable",
                  exit_failure);
  }
  for (const auto& r : results)
    if (!r.passed())
      return exit_failure;
  return exit_ok;
}

// A process outside the run: it records every signal it receives, so the harness can prove
// nothing of the run signalled it. SIGKILL and SIGSTOP cannot be caught; the harness checks
// that it is alive and not stopped instead.
int run_bystander(const std::string& log) {
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  int fd = ::signalfd(-1, &all, SFD_CLOEXEC);
  std::ofstream out{log, std::ios::app};
  out << "ready\n" << std::flush;
  signalfd_siginfo info;
  while (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
    out << "signal " << info.ssi_signo << " from pid " << info.ssi_pid << "\n" << std::flush;
  return 0;
}

} // namespace

std::function<int()> setup_chaos(CLI::App& app, global_options& g) {
  auto o = std::make_shared<chaos_options>();
  app.add_option("scenarios", o->inputs, "Scenario files (.yaml) or folders holding them")
    ->required();
  app.add_flag("--json", g.json, "Print the results as JSON");
  app.add_flag("--keep", o->keep, "Keep every scenario's folder (failed ones are always kept)");
  app.add_flag("--slow", o->slow, "Also run scenarios marked `slow: true`");
  app.add_option("--only", o->only, "Run only the scenario with this name")->type_name("<name>");
  app.add_option("--agent-fixtures", o->agent_fixtures,
                 "Folder of the fake agent CLIs that agent scenarios run (default: the sources')")
    ->type_name("<dir>");
  app.add_option("--report", o->report, "Also write the results as Markdown to this file")
    ->type_name("<file>");
  return [o, &g] { return run_chaos(*o, g); };
}

std::function<int()> setup_chaos_worker(CLI::App& app, global_options&) {
  auto knobs = std::make_shared<std::string>();
  app.add_option("--knobs", *knobs, "Knobs file written by the harness")->required();
  return [knobs] { return chaos::run_fault_worker(*knobs); };
}

std::function<int()> setup_chaos_bystander(CLI::App& app, global_options&) {
  auto log = std::make_shared<std::string>();
  app.add_option("log", *log, "File to record received signals in")->required();
  return [log] { return run_bystander(*log); };
}

} // namespace sf::cli
