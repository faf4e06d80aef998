#include "cli/eligibility_text.hpp"
#include "config/eligibility.hpp"
#include "config/plan_builders.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <unordered_map>

using sf::milestone_status;
using sf::test::make_milestone;

namespace {

constexpr auto unlimited = std::numeric_limits<std::size_t>::max();

std::vector<std::string> ids_of(const std::vector<sf::eligibility_entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries)
    out.push_back(e.id);
  return out;
}

const sf::eligibility_entry* entry(const std::vector<sf::eligibility_entry>& entries,
                                   const std::string& id) {
  for (const auto& e : entries)
    if (e.id == id)
      return &e;
  return nullptr;
}

std::string padded_id(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "M%05zu", i);
  return buf;
}

/// `count` milestones, each with two units of `per` / 2 files drawn from `pool` paths.
/// Every seventh one is complete, so the overlap search must skip it.
sf::plan random_plan(std::size_t count, std::size_t per, std::size_t pool, std::uint32_t seed) {
  std::mt19937 rng{seed};
  sf::plan p;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::vector<std::string>> units(2);
    for (std::size_t k = 0; k < per; ++k)
      units[k % 2].push_back("src/f" + std::to_string(rng() % pool) + ".cc");
    auto status = i % 7 == 3 ? milestone_status::complete : milestone_status::pending;
    p.milestones.push_back(make_milestone(padded_id(i), "T", status, {}, std::move(units)));
  }
  return p;
}

/// The milestones of a `random_plan` still to run, with their files numbered (first appearance
/// order, no repeats); numbers keep the reference computations cheap in Debug builds.
struct numbered_plan {
  std::vector<const sf::milestone*> runnable;
  std::vector<std::string> path_of;
  std::vector<std::vector<std::size_t>> files;
};

numbered_plan number_files(const sf::plan& p) {
  numbered_plan np;
  std::unordered_map<std::string, std::size_t> number;
  for (const auto& m : p.milestones) {
    if (m.status == milestone_status::complete || m.status == milestone_status::parked)
      continue;
    np.runnable.push_back(&m);
    auto& mine = np.files.emplace_back();
    for (const auto& s : m.slices)
      for (const auto& u : s.units)
        for (const auto& f : u.files) {
          auto [it, added] = number.emplace(f, np.path_of.size());
          if (added)
            np.path_of.push_back(f);
          if (std::find(mine.begin(), mine.end(), it->second) == mine.end())
            mine.push_back(it->second);
        }
  }
  return np;
}

/// Reference answer: every pair of milestones still to run compared directly, up to `limit` pairs.
std::vector<sf::overlap_warning> brute_force_overlaps(const numbered_plan& np,
                                                      std::size_t limit = unlimited) {
  std::vector<char> in_b(np.path_of.size(), 0);
  std::vector<sf::overlap_warning> out;
  const auto n = np.runnable.size();
  for (std::size_t i = 0; i < n && out.size() < limit; ++i) {
    for (std::size_t j = i + 1; j < n && out.size() < limit; ++j) {
      for (auto f : np.files[j])
        in_b[f] = 1;
      sf::overlap_warning w{np.runnable[i]->id, np.runnable[j]->id, {}};
      for (auto f : np.files[i])
        if (in_b[f])
          w.files.push_back(np.path_of[f]);
      for (auto f : np.files[j])
        in_b[f] = 0;
      if (!w.files.empty())
        out.push_back(std::move(w));
    }
  }
  return out;
}

bool same_overlaps(const std::vector<sf::overlap_warning>& x,
                   const std::vector<sf::overlap_warning>& y) {
  if (x.size() != y.size())
    return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i].a != y[i].a || x[i].b != y[i].b || x[i].files != y[i].files)
      return false;
  return true;
}

} // namespace

TEST_CASE("eligibility rules are applied in order", "[eligibility]") {
  sf::plan p;
  p.milestones.push_back(make_milestone("M001", "Done", milestone_status::complete));
  p.milestones.push_back(make_milestone("M002", "Waiting", milestone_status::pending));
  p.milestones.push_back(make_milestone("M003", "Shelved", milestone_status::parked, {"M001"}));
  p.milestones.push_back(
      make_milestone("M004", "Unknown dep", milestone_status::pending, {"M002", "M009", "M008"}));
  p.milestones.push_back(
      make_milestone("M005", "Two deps", milestone_status::pending, {"M006", "M002", "M006"}));
  p.milestones.push_back(make_milestone("M006", "Running", milestone_status::active));
  p.milestones.push_back(make_milestone("M007", "After done", milestone_status::pending, {"M001"}));
  p.milestones.push_back(
      make_milestone("M008", "Complete, bad dep", milestone_status::complete, {"M999"}));
  auto r = sf::analyze_eligibility(p);
  CHECK(ids_of(r.eligible) == std::vector<std::string>{"M002", "M006", "M007"});
  CHECK(ids_of(r.ineligible) == std::vector<std::string>{"M001", "M003", "M004", "M005", "M008"});
  CHECK(entry(r.eligible, "M007")->reason == "All dependencies satisfied.");
  CHECK(entry(r.ineligible, "M001")->reason == "Already complete.");
  CHECK(entry(r.ineligible, "M008")->reason == "Already complete.");
  CHECK(entry(r.ineligible, "M003")->reason ==
        "Parked (status: parked); set its status to pending to run it.");
  CHECK(entry(r.ineligible, "M004")->reason == "Blocked by unknown dependencies: M009.");
  // dependsOn order, each id once.
  CHECK(entry(r.ineligible, "M005")->reason == "Blocked by incomplete dependencies: M006, M002.");
  CHECK(entry(r.ineligible, "M005")->title == "Two deps");
}

TEST_CASE("completing a dependency makes its dependents eligible", "[eligibility]") {
  auto p = sf::test::spec_example_plan();
  CHECK(entry(sf::analyze_eligibility(p).ineligible, "M004") != nullptr);
  p.milestones[1].status = milestone_status::complete; // M002
  auto r = sf::analyze_eligibility(p);
  CHECK(ids_of(r.eligible) == std::vector<std::string>{"M003", "M004"});
  // M002 no longer runs, so M003 has no overlap; M004 shares nothing with M003.
  CHECK(r.overlaps.empty());
}

TEST_CASE("only restricts the verdicts and the overlaps to the named ids", "[eligibility]") {
  auto p = sf::test::spec_example_plan();
  auto r = sf::analyze_eligibility(p, {"M004", "M002", "M004", "M042"});
  CHECK(ids_of(r.eligible) == std::vector<std::string>{"M002"});
  CHECK(ids_of(r.ineligible) == std::vector<std::string>{"M004", "M042"});
  CHECK(entry(r.ineligible, "M004")->reason == "Blocked by incomplete dependencies: M002.");
  CHECK(entry(r.ineligible, "M042")->reason.find("Not in the plan") == 0);
  CHECK(sf::cli::render_eligibility_markdown(r).find("- **M042**\n  Not in the plan") !=
        std::string::npos);
  // M003 overlaps M002 but was not asked for.
  CHECK(r.overlaps.empty());
  auto both = sf::analyze_eligibility(p, {"M003", "M002"});
  REQUIRE(both.overlaps.size() == 1);
  CHECK(both.overlaps[0].a == "M002");
  CHECK(both.overlaps[0].files == std::vector<std::string>{"src/types.ts", "src/middleware.ts"});
}

TEST_CASE("shared files follow the first milestone's unit order", "[eligibility]") {
  sf::plan p;
  p.milestones.push_back(make_milestone("A1", "a", milestone_status::pending, {},
                                        {{"z.c", "m.c"}, {"b.c", "z.c"}, {"a.c"}}));
  p.milestones.push_back(
      make_milestone("B1", "b", milestone_status::active, {}, {{"a.c", "b.c", "m.c", "z.c", ""}}));
  p.milestones.push_back(make_milestone("C1", "c", milestone_status::pending, {}, {{""}}));
  auto r = sf::analyze_eligibility(p);
  REQUIRE(r.overlaps.size() == 1); // Empty paths are not files.
  CHECK(r.overlaps[0].b == "B1");
  CHECK(r.overlaps[0].files == std::vector<std::string>{"z.c", "m.c", "b.c", "a.c"});
}

TEST_CASE("a file in every milestone is capped, counted and fast", "[eligibility]") {
  constexpr std::size_t n = 10000;
  sf::plan p;
  for (std::size_t i = 0; i < n; ++i)
    p.milestones.push_back(make_milestone(padded_id(i), "T", milestone_status::pending, {},
                                          {{"own/" + std::to_string(i), "src/hot.ts"}}));
  auto r = sf::analyze_eligibility(p);
  REQUIRE(r.overlaps.size() == sf::default_max_overlaps);
  CHECK(r.overlaps_omitted == n * (n - 1) / 2 - sf::default_max_overlaps);
  // The listed pairs are the first ones in (a, b) order.
  CHECK(r.overlaps.front().a == "M00000");
  CHECK(r.overlaps.front().b == "M00001");
  CHECK(r.overlaps.back().a == "M00000");
  CHECK(r.overlaps.back().b == padded_id(sf::default_max_overlaps));
  CHECK(r.overlaps.back().files == std::vector<std::string>{"src/hot.ts"});
  auto text = sf::cli::render_eligibility_markdown(r);
  CHECK(text.find("## File Overlap Warnings (49995000)\n") != std::string::npos);
  CHECK(text.find("- ... and 49994000 more overlapping pair(s), not listed.\n") !=
        std::string::npos);
}

TEST_CASE("the index finds what a pairwise comparison finds", "[eligibility]") {
  SECTION("300 milestones, 20 files each from 50,000 paths") {
    auto p = random_plan(300, 20, 50000, 7);
    auto expected = brute_force_overlaps(number_files(p));
    REQUIRE(!expected.empty());
    auto r = sf::analyze_eligibility(p, {}, unlimited);
    CHECK(same_overlaps(r.overlaps, expected));
    CHECK(r.overlaps_omitted == 0);
  }
  SECTION("300 milestones from 500 paths: many shared files, cap applied") {
    auto p = random_plan(300, 20, 500, 11);
    auto expected = brute_force_overlaps(number_files(p));
    REQUIRE(expected.size() > 5000);
    REQUIRE(std::any_of(expected.begin(), expected.end(),
                        [](const auto& w) { return w.files.size() >= 3; }));
    auto r = sf::analyze_eligibility(p, {}, unlimited);
    CHECK(same_overlaps(r.overlaps, expected));
    auto capped = sf::analyze_eligibility(p, {}, 100);
    CHECK(same_overlaps(capped.overlaps, {expected.begin(), expected.begin() + 100}));
    CHECK(capped.overlaps_omitted == expected.size() - 100);
    auto none = sf::analyze_eligibility(p, {}, 0);
    CHECK(none.overlaps.empty());
    CHECK(none.overlaps_omitted == expected.size());
  }
}

TEST_CASE("10,000 milestones of 20 files from 50,000 paths", "[eligibility]") {
  auto p = random_plan(10000, 20, 50000, 2024);
  auto r = sf::analyze_eligibility(p);
  REQUIRE(r.overlaps.size() == sf::default_max_overlaps);
  // The listed pairs are the first pairs a direct comparison finds.
  auto np = number_files(p);
  CHECK(same_overlaps(r.overlaps, brute_force_overlaps(np, sf::default_max_overlaps)));
  // The total, counted independently from each file's list of holders.
  std::vector<std::vector<std::size_t>> holders(np.path_of.size());
  for (std::size_t i = 0; i < np.files.size(); ++i)
    for (auto f : np.files[i])
      holders[f].push_back(i);
  std::uint64_t total = 0;
  std::vector<std::size_t> partners;
  for (std::size_t i = 0; i < np.files.size(); ++i) {
    partners.clear();
    for (auto f : np.files[i])
      for (auto j : holders[f])
        if (j > i)
          partners.push_back(j);
    std::sort(partners.begin(), partners.end());
    total += static_cast<std::uint64_t>(std::unique(partners.begin(), partners.end()) -
                                        partners.begin());
  }
  CHECK(r.overlaps.size() + r.overlaps_omitted == total);
}

TEST_CASE("overlaps cover milestones waiting for a dependency, not complete or parked ones",
          "[eligibility]") {
  sf::plan p;
  p.milestones.push_back(make_milestone("A", "Now", milestone_status::pending, {}, {{"x.c"}}));
  p.milestones.push_back(make_milestone("B", "Later", milestone_status::pending, {"C"}, {{"x.c"}}));
  p.milestones.push_back(make_milestone("C", "Now too", milestone_status::pending, {}, {{"y.c"}}));
  p.milestones.push_back(make_milestone("D", "Done", milestone_status::complete, {}, {{"x.c"}}));
  p.milestones.push_back(make_milestone("E", "Parked", milestone_status::parked, {}, {{"x.c"}}));
  p.milestones.push_back(make_milestone("F", "After A", milestone_status::pending, {"A"}, {{"x.c"}}));
  auto r = sf::analyze_eligibility(p);
  CHECK(ids_of(r.eligible) == std::vector<std::string>{"A", "C"});
  // B waits for C, yet it may run beside A's and F's changes to x.c; F starts from main only
  // after A merged, so A and F are no pair.
  REQUIRE(r.overlaps.size() == 2);
  CHECK(r.overlaps[0].a == "A");
  CHECK(r.overlaps[0].b == "B");
  CHECK(r.overlaps[0].files == std::vector<std::string>{"x.c"});
  CHECK(r.overlaps[1].a == "B");
  CHECK(r.overlaps[1].b == "F");
  CHECK(r.overlaps_omitted == 0);
}

TEST_CASE("a chain of dependencies through shared files gives no overlap", "[eligibility]") {
  sf::plan p;
  p.milestones.push_back(make_milestone("A", "1", milestone_status::pending, {}, {{"x.c"}}));
  p.milestones.push_back(make_milestone("B", "2", milestone_status::pending, {"A"}, {{"x.c"}}));
  p.milestones.push_back(make_milestone("C", "3", milestone_status::pending, {"B"}, {{"x.c"}}));
  auto r = sf::analyze_eligibility(p);
  CHECK(r.overlaps.empty());
  CHECK(r.overlaps_omitted == 0);
}
