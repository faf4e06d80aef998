#pragma once
/// Running `sf-actors start` in a test project to its end and reading what it left: main's
/// merges, the event log, `status --json` rows. Shared by the merge queue and gate tests.

#include "support/project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace sf::test {

/// How a spawned CLI ended: its exit code and its output (stdout and stderr).
struct finished_run {
  int exit_code = -1;
  std::string output;
};

inline constexpr auto queue_run_timeout = std::chrono::seconds(60);

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

// Subjects of the merge commits on main's first-parent history, oldest first.
inline std::vector<std::string> merges_on_main(const test_project& p) {
  return split_lines(p.git("log --first-parent --merges --reverse --format=%s main"));
}

// Position of the first event of `mid` in `state` in events.jsonl (the log is strictly
// ordered, unlike millisecond times), or -1.
inline long event_index(const std::string& root, const std::string& mid, const std::string& state) {
  auto lines = event_lines(root, "");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto j = nlohmann::json::parse(lines[i], nullptr, false);
    if (j.is_object() && j.value("milestone", "") == mid && j.value("state", "") == state)
      return static_cast<long>(i);
  }
  return -1;
}

// The row of `mid` in `status --json`, or an empty object while it has none.
inline nlohmann::json status_row(const test_project& p, const std::string& mid) {
  auto j = nlohmann::json::parse(p.cli("status --json").out, nullptr, false);
  if (j.is_object() && j.contains("workers"))
    for (const auto& w : j["workers"])
      if (w.value("milestoneId", "") == mid)
        return w;
  return nlohmann::json::object();
}


// Waits for a spawned CLI to end; its output is the n-th log.
inline finished_run finish(test_project& p, sf::io::child_process& child, int n) {
  finished_run r;
  auto status = wait_exit(child, queue_run_timeout);
  REQUIRE(status);
  r.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
  r.output = read_file(p.cli_log(n));
  return r;
}

// Runs `start --yes` in the foreground to its end.
inline finished_run start_to_end(test_project& p, int n = 1) {
  auto child = p.spawn_cli({"start", "--yes"});
  return finish(p, child, n);
}

} // namespace sf::test
