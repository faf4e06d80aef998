#pragma once
/// Merging the files under `.sf/` that both main and a milestone branch changed, so that nothing
/// either side added disappears:
/// - `.sf/metrics.json` entry by entry (every milestone's record survives);
/// - `.sf/milestones/<MID>/MILESTONE.md` front-matter key by key: the branch wins `status` and
///   unit progress, main wins what the user edited (a title, dependencies, new units), the body
///   line by line;
/// - any other text file line by line, where a region both sides changed keeps both sides'
///   lines (ours, then the branch's), as git's `merge=union` does; a binary file both sides
///   changed is a conflict.

#include <caf/expected.hpp>

#include <optional>
#include <string>
#include <utility>

namespace sf::io {

/// True when `path` is `.sf/milestones/<MID>/MILESTONE.md` for a valid id.
bool is_milestone_file(const std::string& path);

/// Merges `metrics.json` texts: ours plus every milestone entry theirs added or changed since
/// `base` (any text may be empty); fails when ours or theirs is not a JSON object.
caf::expected<std::string> merge_metrics_json(const std::string& base, const std::string& ours,
                                              const std::string& theirs);

/// Merges three versions of a MILESTONE.md; nothing when they cannot be merged without losing a
/// side's change (then the path is a conflict). `path` is for messages.
caf::expected<std::optional<std::string>> merge_milestone_text(const std::string& base,
                                                               const std::string& ours,
                                                               const std::string& theirs,
                                                               const std::string& path);

/// git's three-way line merge of one file's texts (`path` and `mode` label them): whether it
/// is clean, and the text, with conflict markers where it is not. With `union_both`, a region
/// both sides changed keeps ours' lines, then theirs' (git's `merge=union`): always clean.
caf::expected<std::pair<bool, std::string>> merge_file_text(const std::string& base,
                                                           const std::string& ours,
                                                           const std::string& theirs,
                                                           const std::string& path,
                                                           bool union_both, unsigned int mode = 0);

/// Line-level three-way merge where a region both sides changed keeps ours' lines, then
/// theirs'; nothing (a conflict) when a version is binary.
caf::expected<std::optional<std::string>> merge_lines_keeping_both(const std::string& base,
                                                                   const std::string& ours,
                                                                   const std::string& theirs,
                                                                   const std::string& path);

} // namespace sf::io
