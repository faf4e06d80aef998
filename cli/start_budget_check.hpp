#pragma once
/// `start`'s budget check: a run that could not spend anything is refused before it begins.

#include "config/preferences.hpp"

#include <optional>
#include <string>

namespace sf::cli {

/// The refusal line (spent, ceiling and the two fixes) when the current budget period has
/// already reached `prefs.budget_ceiling`; nothing when there is no ceiling or room is left.
std::optional<std::string> budget_refusal(const std::string& root, const preferences& prefs);

} // namespace sf::cli
