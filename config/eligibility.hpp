#pragma once
/// Which milestones may start now, and which of those touch the same files.

#include "config/plan.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sf {

/// Most overlapping pairs an eligibility report lists; the rest are only counted.
constexpr std::size_t default_max_overlaps = 1000;

/// One milestone's verdict and the human-readable reason for it.
struct eligibility_entry {
  std::string id;     ///< Milestone id (or the requested id when it is not in the plan).
  std::string title;  ///< Milestone title, as written in the plan.
  std::string reason; ///< One sentence: why it may or may not start.
};

/// Two eligible milestones that name at least one common file.
struct overlap_warning {
  std::string a;                  ///< The smaller id of the pair.
  std::string b;                  ///< The larger id of the pair.
  std::vector<std::string> files; ///< Shared files, in the order they first appear in `a`'s units.
};

/// Outcome of `analyze_eligibility`.
struct eligibility_report {
  std::vector<eligibility_entry> eligible;   ///< May start now; sorted by id.
  std::vector<eligibility_entry> ineligible; ///< Must not start; sorted by id.
  std::vector<overlap_warning> overlaps;     ///< Listed pairs, sorted by (a, b).
  std::uint64_t overlaps_omitted = 0;        ///< Overlapping pairs beyond the cap, not listed.
};

/// Classifies milestones and finds file overlaps among those still to run (every one that is
/// neither complete nor parked, eligible now or waiting for a dependency).
/// `only`, when not empty, restricts the verdicts to those ids (dependencies are still looked up
/// in the whole plan; an id absent from the plan is listed as ineligible). At most
/// `max_overlaps` pairs are listed, the first ones in (a, b) order; the rest are counted in
/// `overlaps_omitted`. Cost, with n milestones still to run: one hash lookup and at most n/64 words
/// of bitset work per (milestone, file) entry, plus the listed pairs; never one step per
/// overlapping pair, and memory linear in the entries, even if every milestone shares a file.
eligibility_report analyze_eligibility(const plan& p, const std::vector<std::string>& only = {},
                                       std::size_t max_overlaps = default_max_overlaps);

} // namespace sf
