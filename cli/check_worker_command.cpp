// `sf-actors check-worker [--interval S] [--timeout S] [--json] -- <command...>`: runs a
// worker program in a throwaway project and reports which parts of the protocol it honours.
#include "actors/orchestrator.hpp"
#include "check_worker/conformance.hpp"
#include "cli/command.hpp"
#include "io/os/proc_files.hpp"
#include "io/os/worker_launch.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace sf::cli {

namespace {

/// This program's path, so the relay installed next to it is the one used.
std::string own_program() { return io::self_exe(); }

struct check_worker_options {
  double interval = 1;              // Seconds.
  double timeout = 10;              // Seconds.
  std::vector<std::string> command; // Everything after `--`.
};

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

std::string lower(const char* s) {
  std::string out = s;
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

nlohmann::json to_json(const worker::conformance_report& r, const check_worker_options& o) {
  auto checks = nlohmann::json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"id", c.id},
                      {"title", c.title},
                      {"result", lower(worker::to_string(c.outcome))},
                      {"detail", c.detail}});
  return {{"command", o.command},
          {"interval", o.interval},
          {"timeout", o.timeout},
          {"checks", checks},
          {"passed", r.count(worker::check_outcome::pass)},
          {"failed", r.count(worker::check_outcome::fail)},
          {"skipped", r.count(worker::check_outcome::skip)},
          {"interrupted", r.interrupted},
          {"ok", r.passed()},
          {"workerLog", r.log_tail}};
}

void print_table(const worker::conformance_report& r, const check_worker_options& o) {
  std::size_t width = 5;
  for (const auto& c : r.checks)
    width = std::max(width, c.id.size());
  std::cout << "Worker: ";
  for (const auto& arg : o.command)
    std::cout << arg << ' ';
  std::cout << "(heartbeat interval " << seconds(o.interval) << ", timeout " << seconds(o.timeout)
            << ")\n\n";
  std::cout << "  #  " << std::string("CHECK") << std::string(width - 5 + 2, ' ')
            << "RESULT  DETAIL\n";
  for (std::size_t i = 0; i < r.checks.size(); ++i) {
    const auto& c = r.checks[i];
    std::cout << "  " << i + 1 << "  " << c.id << std::string(width - c.id.size() + 2, ' ')
              << worker::to_string(c.outcome) << "    " << c.detail << '\n';
  }
  std::cout << '\n'
            << r.checks.size() << " checks: " << r.count(worker::check_outcome::pass) << " passed, "
            << r.count(worker::check_outcome::fail) << " failed, "
            << r.count(worker::check_outcome::skip) << " skipped: "
            << (r.interrupted ? "interrupted"
                : r.passed()  ? "the worker follows the protocol"
                              : "the worker does not conform")
            << '\n';
  if (!r.passed() && !r.log_tail.empty()) {
    std::cout << "\nLast lines the worker printed:\n";
    for (const auto& line : r.log_tail)
      std::cout << "  | " << line << '\n';
  }
}

} // namespace

std::function<int()> setup_check_worker(CLI::App& app, global_options& g) {
  auto o = std::make_shared<check_worker_options>();
  app.add_option("--interval", o->interval,
                 "heartbeat_interval given to the worker, in seconds (default 1)")
      ->type_name("SECONDS");
  app.add_option("--timeout", o->timeout,
                 "Longest wait for each expected event, and the grace period after a stop, in "
                 "seconds (default 10)")
      ->type_name("SECONDS");
  app.add_flag("--json", g.json, "Print the results as JSON");
  app.add_option("command", o->command, "The worker program and its arguments, after `--`");
  return [o, &g]() -> int {
    if (o->command.empty())
      return fail("check-worker needs the worker's command after `--`, e.g. "
                  "`sf-actors check-worker -- ./my-worker --flag`",
                  exit_usage);
    if (!(o->interval > 0) || !std::isfinite(o->interval) || !(o->timeout > 0) ||
        !std::isfinite(o->timeout))
      return fail("--interval and --timeout must be positive numbers of seconds", exit_usage);
    worker::conformance_options opts;
    opts.argv = o->command;
    opts.base_env = io::allowlisted_environment();
    // As the coordinator runs it: the relay is the one next to this program.
    opts.log_relay = default_log_relay({}, own_program());
    opts.interval = std::chrono::milliseconds(std::llround(o->interval * 1000));
    opts.timeout = std::chrono::milliseconds(std::llround(o->timeout * 1000));
    if (opts.interval.count() < 1 || opts.timeout.count() < 1)
      return fail("--interval and --timeout must be at least 0.001 seconds", exit_usage);
    auto report = worker::check_worker(opts);
    if (!report)
      return fail(report.error());
    if (g.json)
      std::cout << to_json(*report, *o).dump(2) << '\n';
    else
      print_table(*report, *o);
    if (report->interrupted)
      return fail("interrupted: the worker was killed and the throwaway project removed",
                  exit_failure);
    return report->passed() ? exit_ok : exit_failure;
  };
}

} // namespace sf::cli
