#pragma once
/// Builds plans directly as structs for the plan-view tests (no MILESTONE.md parsing).

#include "config/plan.hpp"

#include <string>
#include <utility>
#include <vector>

namespace sf::test {

/// A milestone with one slice holding one unit per entry of `unit_files`.
inline milestone make_milestone(std::string id, std::string title,
                                milestone_status status = milestone_status::pending,
                                std::vector<std::string> depends_on = {},
                                std::vector<std::vector<std::string>> unit_files = {}) {
  milestone m;
  m.id = std::move(id);
  m.title = std::move(title);
  m.status = status;
  m.depends_on = std::move(depends_on);
  slice s;
  s.id = "S01";
  s.title = "Work";
  int n = 0;
  for (auto& files : unit_files) {
    unit u;
    u.id = "U" + std::to_string(++n);
    u.title = "Unit " + std::to_string(n);
    u.run = "true";
    u.files = std::move(files);
    s.units.push_back(std::move(u));
  }
  m.slices.push_back(std::move(s));
  return m;
}

/// The specification's example report, as `eligibility` prints it for `spec_example_plan()`.
inline const char* const spec_example_report = R"(# Parallel Eligibility Report

## Eligible for Parallel Execution (2)

- **M002** — Auth System
  All dependencies satisfied.
- **M003** — Dashboard UI
  All dependencies satisfied.

## Ineligible (2)

- **M001** — Core Types
  Already complete.
- **M004** — API Integration
  Blocked by incomplete dependencies: M002.

## File Overlap Warnings (1)

- **M002** <-> **M003** — 2 shared file(s):
  - `src/types.ts`
  - `src/middleware.ts`
)";

/// The four milestones of the specification's example report.
inline plan spec_example_plan() {
  plan p;
  p.milestones.push_back(
      make_milestone("M001", "Core Types", milestone_status::complete, {}, {{"src/types.ts"}}));
  p.milestones.push_back(make_milestone("M002", "Auth System", milestone_status::pending, {},
                                        {{"src/types.ts", "src/middleware.ts"}, {"src/auth.ts"}}));
  p.milestones.push_back(
      make_milestone("M003", "Dashboard UI", milestone_status::pending, {},
                     {{"src/types.ts"}, {"src/middleware.ts", "src/dashboard.tsx"}}));
  p.milestones.push_back(make_milestone("M004", "API Integration", milestone_status::pending,
                                        {"M002"}, {{"src/api.ts", "src/auth.ts"}}));
  return p;
}

} // namespace sf::test
