// Token sums hold at INT64_MAX: an agent that reports absurd counts (chaos scenarios 79 and 80)
// must not make a milestone's or the run's total wrap around to a negative number.
#include "core/token_counts.hpp"

#include <catch2/catch.hpp>

#include <limits>

using sf::core::add_counts_capped;
using sf::core::token_counts;

TEST_CASE("token counts add up, held within int64_t", "[core][tokens]") {
  constexpr auto max = std::numeric_limits<int64_t>::max();
  CHECK(add_counts_capped(2, 3) == 5);
  CHECK(add_counts_capped(max, 1) == max);
  CHECK(add_counts_capped(max - 1, 1) == max);
  CHECK(add_counts_capped(max, max) == max);
  CHECK(add_counts_capped(5, -2) == 3); // A running total's step back (a delta) still adds.
  token_counts lie{max, max - 1, max};
  auto sum = lie + token_counts{10, 20, 30};
  CHECK(sum == token_counts{max, max, max});
  CHECK(sum.sum() == max);
  CHECK((token_counts{1, 2, 3} + token_counts{4, 5, 6}) == token_counts{5, 7, 9});
}
