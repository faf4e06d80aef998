#pragma once
/// Which unmerged milestones changed the same files, from each branch's changed paths: the
/// warning that comes while work runs, before the merge that would conflict.

#include "messages/types.hpp"

#include <map>
#include <string>
#include <vector>

namespace sf {

/// Every pair of milestones in `changed` (id -> sorted paths) that share a path, ordered by
/// (first, second), each with the shared paths sorted.
std::vector<file_overlap> find_overlaps(const std::map<std::string, std::vector<std::string>>& changed);

/// One line for a person: "M001 and M002 both changed a.c, b.c" (at most `max_files` paths
/// named, then "and N more").
std::string overlap_text(const file_overlap& o, std::size_t max_files = 5);

} // namespace sf
