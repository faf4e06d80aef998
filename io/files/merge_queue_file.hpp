#pragma once
/// `.sf/parallel/merge-queue.json`: the merge queue with the tips it recorded, so a restarted
/// coordinator finishes queued merges.

#include "messages/types.hpp"

#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace sf::io {

/// Writes the queue durably and atomically.
caf::error write_merge_queue(const std::string& root, const std::vector<merge_item>& items);

/// Reads the queue; `ec::not_found` when there is none.
caf::expected<std::vector<merge_item>> read_merge_queue(const std::string& root);

} // namespace sf::io
