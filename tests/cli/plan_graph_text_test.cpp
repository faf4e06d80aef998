#include "cli/plan_graph_text.hpp"
#include "config/plan_builders.hpp"

#include <catch2/catch.hpp>

using sf::milestone_status;
using sf::test::make_milestone;

namespace {

/// One milestone per status, edges into M003 from two dependencies, one missing dependency.
sf::plan small_plan() {
  sf::plan p;
  p.milestones.push_back(make_milestone("M001", "Core Types", milestone_status::complete));
  p.milestones.push_back(
      make_milestone("M002", "Auth System", milestone_status::pending, {"M001"}));
  p.milestones.push_back(
      make_milestone("M003", "Dashboard UI", milestone_status::active, {"M002", "M001"}));
  p.milestones.push_back(make_milestone("M004", "Later", milestone_status::parked, {"M009"}));
  return p;
}

} // namespace

TEST_CASE("Mermaid graph of a small plan", "[eligibility]") {
  const std::string expected = R"txt(flowchart LR
  classDef complete fill:#d4edda,stroke:#2e7d32
  classDef active fill:#cce5ff,stroke:#1565c0
  classDef pending fill:#fff3cd,stroke:#f9a825
  classDef parked fill:#e2e3e5,stroke:#616161
  classDef missing fill:#ffffff,stroke:#c62828,stroke-dasharray:5 5
  M001["M001 Core Types (complete)"]:::complete
  M002["M002 Auth System (pending)"]:::pending
  M003["M003 Dashboard UI (active)"]:::active
  M004["M004 Later (parked)"]:::parked
  M009["M009 (missing)"]:::missing
  M001 --> M002
  M001 --> M003
  M002 --> M003
  M009 -.-> M004
)txt";
  CHECK(sf::cli::render_graph_mermaid(small_plan()) == expected);
}

TEST_CASE("DOT graph of a small plan", "[eligibility]") {
  const std::string expected = R"txt(digraph plan {
  rankdir=LR;
  node [shape=box, style="rounded,filled"];
  "M001" [label="M001 Core Types (complete)", fillcolor="#d4edda", color="#2e7d32"];
  "M002" [label="M002 Auth System (pending)", fillcolor="#fff3cd", color="#f9a825"];
  "M003" [label="M003 Dashboard UI (active)", fillcolor="#cce5ff", color="#1565c0"];
  "M004" [label="M004 Later (parked)", fillcolor="#e2e3e5", color="#616161"];
  "M009" [label="M009 (missing)", fillcolor="#ffffff", color="#c62828", style="dashed"];
  "M001" -> "M002";
  "M001" -> "M003";
  "M002" -> "M003";
  "M009" -> "M004" [style=dashed];
}
)txt";
  CHECK(sf::cli::render_graph_dot(small_plan()) == expected);
}

TEST_CASE("graph output does not depend on the plan's order", "[eligibility]") {
  auto p = small_plan();
  auto reversed = p;
  std::reverse(reversed.milestones.begin(), reversed.milestones.end());
  CHECK(sf::cli::render_graph_mermaid(reversed) == sf::cli::render_graph_mermaid(p));
  CHECK(sf::cli::render_graph_dot(reversed) == sf::cli::render_graph_dot(p));
}

TEST_CASE("hostile titles are escaped in both graph formats", "[eligibility]") {
  sf::plan p;
  p.milestones.push_back(
      make_milestone("M001", "A \"quoted\" <b>\nnew line \\ #1 & `x`", milestone_status::pending));
  p.milestones.push_back(make_milestone("end", "Keyword id", milestone_status::pending, {"M001"}));
  auto mermaid = sf::cli::render_graph_mermaid(p);
  CHECK(mermaid.find("  M001[\"M001 A #quot;quoted#quot; #60;b#62; new line \\ #35;1 #38; "
                     "#96;x#96; (pending)\"]:::pending\n") != std::string::npos);
  // "end" would close a Mermaid block; it gets a hex node id, and keeps its label.
  CHECK(mermaid.find("  sf_656e64[\"end Keyword id (pending)\"]:::pending\n") != std::string::npos);
  CHECK(mermaid.find("  M001 --> sf_656e64\n") != std::string::npos);
  auto dot = sf::cli::render_graph_dot(p);
  CHECK(dot.find("  \"M001\" [label=\"M001 A \\\"quoted\\\" <b> new line \\\\ #1 & `x` "
                 "(pending)\", fillcolor=\"#fff3cd\"") != std::string::npos);
  CHECK(dot.find("  \"M001\" -> \"end\";\n") != std::string::npos);
  // The raw line break never reaches either output inside a label.
  CHECK(mermaid.find("<b>\n") == std::string::npos);
  CHECK(dot.find("<b>\n") == std::string::npos);
}

TEST_CASE("a missing dependency is drawn once as a dashed node", "[eligibility]") {
  sf::plan p;
  p.milestones.push_back(make_milestone("M001", "One", milestone_status::pending, {"M0\"9"}));
  p.milestones.push_back(make_milestone("M002", "Two", milestone_status::pending, {"M0\"9"}));
  auto mermaid = sf::cli::render_graph_mermaid(p);
  // The id has a quote, so it is hex-encoded as a node id and entity-escaped in its label.
  CHECK(mermaid.find("  sf_4d302239[\"M0#quot;9 (missing)\"]:::missing\n") != std::string::npos);
  CHECK(mermaid.find("  sf_4d302239 -.-> M001\n  sf_4d302239 -.-> M002\n") != std::string::npos);
  auto dot = sf::cli::render_graph_dot(p);
  CHECK(dot.find("  \"M0\\\"9\" [label=\"M0\\\"9 (missing)\", fillcolor=\"#ffffff\"") !=
        std::string::npos);
  CHECK(dot.find("  \"M0\\\"9\" -> \"M001\" [style=dashed];\n") != std::string::npos);
  CHECK(std::count(dot.begin(), dot.end(), '\n') == 9); // Header 3, nodes 3, edges 2, closing 1.
}
