#pragma once
/// `sf-actors merge` without a coordinator when `merge_gate` is set: the queue's gate run in
/// this process. Each batch is composed on main, tested in `.sf/worktrees/_gate`, and main moves to it
/// only when the gate passed and main is still where the test began.

#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "messages/types.hpp"

#include <string>

namespace sf::cli {

/// Merges the completed milestones of `p` (or only `only`) through the gate; a readable
/// `sigfd` stops the gate command and ends the command between merges (exit 130).
merge_report merge_through_gate(const std::string& root, const preferences& prefs, const plan& p,
                                const std::string& only, int sigfd);

} // namespace sf::cli
