// The merge gate's batching and bisection as pure logic: a simulated gate whose verdict is
// "no culprit in the batch", driven the way the merge queue drives it.
#include "core/gate_bisect.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using sf::core::gate_bisect;

namespace {

struct queue_run {
  std::vector<std::string> landed; ///< In the order they reached main.
  std::vector<std::string> failed;
  int gate_runs = 0;
};

// Runs `ids` through the gate with batches of `batch`; a batch passes when it holds no culprit.
queue_run drive(std::vector<std::string> ids, const std::set<std::string>& culprits,
                std::size_t batch) {
  gate_bisect b;
  queue_run r;
  while (!ids.empty()) {
    REQUIRE(r.gate_runs < 200); // a loop that never ends is a failure, not a hang
    auto tested = b.next(ids, batch);
    REQUIRE_FALSE(tested.empty());
    ++r.gate_runs;
    bool passed = std::none_of(tested.begin(), tested.end(),
                               [&](const std::string& id) { return culprits.count(id) != 0; });
    auto v = b.record(tested, passed);
    if (v.land) {
      for (const auto& id : tested) {
        r.landed.push_back(id);
        ids.erase(std::find(ids.begin(), ids.end(), id));
      }
    }
    for (const auto& id : v.failed) {
      r.failed.push_back(id);
      ids.erase(std::find(ids.begin(), ids.end(), id));
    }
    if (!passed)
      CHECK((v.retry || !v.failed.empty() || b.suspects().size() > 1));
  }
  return r;
}

std::vector<std::string> numbered(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i)
    out.push_back("M" + std::string(i < 10 ? "00" : "0") + std::to_string(i));
  return out;
}

} // namespace

TEST_CASE("gate batches: 16 passing milestones reach main in 2 gate runs of 8", "[core][gate]") {
  auto r = drive(numbered(16), {}, 8);
  CHECK(r.gate_runs == 2);
  CHECK(r.landed == numbered(16));
  CHECK(r.failed.empty());
}

TEST_CASE("gate batches: one culprit among 16 is found within 2 + 2 log2(8) runs, wherever it is",
          "[core][gate]") {
  for (const auto& culprit : numbered(16)) {
    CAPTURE(culprit);
    auto r = drive(numbered(16), {culprit}, 8);
    CHECK(r.gate_runs <= 2 + 2 * 3);
    CHECK(r.failed == std::vector<std::string>{culprit});
    CHECK(r.landed.size() == 15);
    // Merge order is kept for the ones that land.
    CHECK(std::is_sorted(r.landed.begin(), r.landed.end()));
  }
}

TEST_CASE("gate batches: two culprits both fail and only they do", "[core][gate]") {
  auto r = drive(numbered(8), {"M002", "M007"}, 8);
  CHECK(r.failed == std::vector<std::string>{"M002", "M007"});
  CHECK(r.landed.size() == 6);
}

TEST_CASE("gate alone: a failure is retried once, then final", "[core][gate]") {
  gate_bisect b;
  std::vector<std::string> q{"M001"};
  CHECK(b.next(q, 1) == q);
  auto first = b.record(q, false);
  CHECK(first.retry);
  CHECK(first.failed.empty());
  CHECK(b.next(q, 1) == q);
  auto second = b.record(q, false);
  CHECK_FALSE(second.retry);
  CHECK(second.failed == q);
  // A flaky failure that passes on its retry lands.
  gate_bisect flaky;
  (void) flaky.next(q, 1);
  CHECK(flaky.record(q, false).retry);
  (void) flaky.next(q, 1);
  CHECK(flaky.record(q, true).land);
}

TEST_CASE("gate batches: a suspect that leaves the queue is no longer tested", "[core][gate]") {
  gate_bisect b;
  auto ids = numbered(4);
  (void) b.next(ids, 4);
  (void) b.record(ids, false); // M001..M004 fail together
  CHECK(b.next(ids, 4) == std::vector<std::string>{"M001", "M002"});
  // The user merged M001 and M002 by hand meanwhile: the halves are taken from the rest.
  std::vector<std::string> rest{"M003", "M004"};
  CHECK(b.next(rest, 4) == std::vector<std::string>{"M003"});
}
