#pragma once
/// The gate tests' tiny project: milestones that each add parts/<name>.txt, and a check that
/// fails when the parts on the tree under test add up to more than 10, so two milestones that
/// each pass can fail together. Shared by the merge gate and gate fix tests.

#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/queue_run.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <string>
#include <vector>

namespace sf::test {

// The project's own check: the parts on the tree under test add up to at most 10.
inline constexpr const char* check_script = R"(total=0
for f in parts/*.txt; do [ -f "$f" ] && total=$((total + $(cat "$f"))); done
echo "total $total"
[ "$total" -le 10 ]
)";

// A milestone whose one unit adds parts/<name>.txt holding `value`.
inline milestone_spec part(const std::string& id, const std::string& name, int value,
                           std::vector<std::string> deps = {}) {
  return ms(id, std::move(deps),
            {unit("U01", "mkdir -p parts && echo " + std::to_string(value) + " > parts/" + name +
                           ".txt")});
}

inline std::string gate_prefs(const std::string& extra, const std::string& gate = "sh check.sh",
                              const std::string& auto_merge = "auto") {
  return "  enabled: true\n  max_workers: 4\n  auto_merge: " + auto_merge +
         "\n  merge_gate: " + gate + "\n" + extra;
}

// Commits the check, and `gate.sh` when the gate needs more than the check.
inline void add_check(const test_project& p, const std::string& gate_script = "") {
  write_file(p.path("check.sh"), check_script);
  p.git("add check.sh");
  if (!gate_script.empty()) {
    write_file(p.path("gate.sh"), gate_script);
    p.git("add gate.sh");
  }
  p.git("commit -q -m 'the check'");
}

// The sum of the parts in `rev`'s tree.
inline int parts_total(const test_project& p, const std::string& rev) {
  int total = 0;
  for (const auto& f : split_lines(p.git("ls-tree --name-only " + rev + " parts/ || true")))
    total += std::stoi(p.git("show " + rev + ":" + f));
  return total;
}

// Every commit main has pointed at passes the check: main's first-parent history.
inline void check_main_always_passes(const test_project& p) {
  for (const auto& c : split_lines(p.git("rev-list --first-parent main"))) {
    INFO("commit on main: " << c);
    CHECK(parts_total(p, c) <= 10);
  }
}

inline bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// How many times the gate ran: our line at the start of each run in the gate log.
inline int gate_runs(const test_project& p) {
  int n = 0;
  if (!exists(p.path(".sf/parallel/gate.log")))
    return 0;
  for (const auto& line : split_lines(read_file(p.path(".sf/parallel/gate.log"))))
    n += line.rfind("[sf-actors] gate: testing", 0) == 0 ? 1 : 0;
  return n;
}

inline bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

} // namespace sf::test
