#include "cli/eligibility_text.hpp"
#include "config/plan_builders.hpp"

#include <catch2/catch.hpp>

TEST_CASE("the specification's example renders exactly as its report", "[eligibility]") {
  auto report = sf::analyze_eligibility(sf::test::spec_example_plan());
  CHECK(sf::cli::render_eligibility_markdown(report) == sf::test::spec_example_report);
  // M004 shares src/auth.ts with M002 but is blocked, so it is in no overlap.
  REQUIRE(report.overlaps.size() == 1);
  CHECK(report.overlaps_omitted == 0);
}

TEST_CASE("empty sections and hostile titles render safely", "[eligibility]") {
  sf::eligibility_report r;
  r.ineligible.push_back({"M001", "Line one\n## Injected\r\nthird", "Already complete."});
  r.ineligible.push_back({"M002", "T", "Blocked by unknown dependencies: M\n# X."});
  const std::string expected = "# Parallel Eligibility Report\n"
                               "\n"
                               "## Eligible for Parallel Execution (0)\n"
                               "\n"
                               "- none\n"
                               "\n"
                               "## Ineligible (2)\n"
                               "\n"
                               "- **M001** — Line one ## Injected  third\n"
                               "  Already complete.\n"
                               "- **M002** — T\n"
                               "  Blocked by unknown dependencies: M # X.\n";
  CHECK(sf::cli::render_eligibility_markdown(r) == expected);
  r.overlaps.push_back({"M001", "M002", {"a`b.ts", "`x`", "new\nline"}});
  auto text = sf::cli::render_eligibility_markdown(r);
  CHECK(text.find("  - ``a`b.ts``\n") != std::string::npos);
  CHECK(text.find("  - `` `x` ``\n") != std::string::npos);
  CHECK(text.find("  - `new line`\n") != std::string::npos);
  CHECK(text.find("## File Overlap Warnings (1)\n") != std::string::npos);
}

TEST_CASE("the JSON form carries the same data", "[eligibility]") {
  auto r = sf::analyze_eligibility(sf::test::spec_example_plan());
  auto j = sf::cli::eligibility_to_json(r);
  auto expected = nlohmann::json::parse(R"({
    "eligible": [
      {"id": "M002", "title": "Auth System", "reason": "All dependencies satisfied."},
      {"id": "M003", "title": "Dashboard UI", "reason": "All dependencies satisfied."}],
    "ineligible": [
      {"id": "M001", "title": "Core Types", "reason": "Already complete."},
      {"id": "M004", "title": "API Integration",
       "reason": "Blocked by incomplete dependencies: M002."}],
    "overlaps": [{"a": "M002", "b": "M003", "files": ["src/types.ts", "src/middleware.ts"]}],
    "overlapsOmitted": 0})");
  CHECK(j == expected);
  auto empty = sf::cli::eligibility_to_json({});
  CHECK(empty.dump() == R"({"eligible":[],"ineligible":[],"overlaps":[],"overlapsOmitted":0})");
}
