#pragma once
/// The integration branch: the one branch that milestones start from and merge into, decided
/// once per project and recorded in the repository's own git config, so that switching the
/// root checkout to another branch can never redirect a merge.

#include <caf/expected.hpp>

#include <git2.h>

#include <string>

namespace sf::io {

/// The local git config key that records the decision (`git config sf-actors.integrationBranch`).
constexpr const char* integration_branch_key = "sf-actors.integrationBranch";

/// Short name of the integration branch: the recorded one, else `main`, else `master`, else the
/// branch HEAD names (only until a first `start` or `merge` records it). Fails when the recorded
/// branch no longer exists, with the fix.
caf::expected<std::string> resolve_main_branch(git_repository* repo);

/// The branch `record_integration_branch` would decide on, without recording it.
caf::expected<std::string> choose_integration_branch(git_repository* repo,
                                                     const std::string& preferred);

/// Decides the integration branch and records it: `preferred` (the `integration_branch`
/// preference) when not empty, which must exist; else the recorded one; else the rules of
/// `resolve_main_branch`. Returns it. Writes the config only when the record changes.
caf::expected<std::string> record_integration_branch(const std::string& root,
                                                     const std::string& preferred);

} // namespace sf::io
