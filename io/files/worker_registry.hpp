#pragma once
/// `.sf/parallel/workers.json`: the identity of every worker the coordinator spawned, so a
/// restarted coordinator can verify and adopt the ones still alive.

#include "messages/types.hpp"

#include <caf/expected.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// Writes the registry durably and atomically.
caf::error write_worker_registry(const std::string& root,
                                 const std::vector<worker_identity>& workers);

/// Reads the registry; `ec::not_found` when there is none.
caf::expected<std::vector<worker_identity>> read_worker_registry(const std::string& root);

/// For an entry written before its spawn (pid 0, token only): the live worker process that
/// carries the token, project root and milestone in its environment, with its full identity.
std::optional<worker_identity> find_announced_worker(const std::string& root,
                                                    const worker_identity& intent);

/// True when `who` is alive and provably the spawn it describes: same pid, start time and
/// boot, and its environment carries the same token, project root and milestone.
bool verify_worker(const std::string& root, const worker_identity& who);

} // namespace sf::io
