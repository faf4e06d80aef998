#include "core/merge_policy.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

struct item {
  std::string milestone;
  int64_t sequence = 0;
  std::string slice;
};

std::vector<std::string> order(const std::vector<item>& items) {
  std::vector<std::string> out;
  for (const auto& x : items)
    out.push_back(x.milestone + (x.slice.empty() ? "" : "/" + x.slice));
  return out;
}

} // namespace

TEST_CASE("the merge order is by id (slices by completion) or by completion", "[core]") {
  std::vector<item> items = {{"M003", 1, ""}, {"M001", 4, "S02"}, {"M002", 2, ""},
                             {"M001", 3, "S01"}, {"M004", 0, ""}};
  auto by_id = items;
  sf::core::sort_for_merge(by_id, false);
  CHECK(order(by_id) ==
        std::vector<std::string>{"M001/S01", "M001/S02", "M002", "M003", "M004"});
  auto by_completion = items;
  sf::core::sort_for_merge(by_completion, true);
  CHECK(order(by_completion) ==
        std::vector<std::string>{"M004", "M003", "M002", "M001/S01", "M001/S02"});
  // Equal keys keep the order they came in.
  std::vector<item> same = {{"M001", 5, "a"}, {"M001", 5, "b"}};
  sf::core::sort_for_merge(same, false);
  CHECK(order(same) == std::vector<std::string>{"M001/a", "M001/b"});
}

TEST_CASE("under sequential order a lower id still running holds a merge back", "[core]") {
  CHECK(sf::core::sequential_blocker("M003", {}).empty());
  CHECK(sf::core::sequential_blocker("M003", {"M004", "M005"}).empty());
  CHECK(sf::core::sequential_blocker("M003", {"M003"}).empty());
  auto why = sf::core::sequential_blocker("M003", {"M002", "M001"});
  CHECK(why.rfind("M001, which has a lower id", 0) == 0);
}
