#pragma once
/// milestone_id: the one rule for milestone ids. Only ids that keep it reach a path, a branch
/// name or an environment variable; every refusal explains it in the same words.

#include <string>
#include <string_view>

namespace sf::core {

/// True when `id` matches `^[A-Za-z][A-Za-z0-9_-]{0,63}$` (ASCII only, whatever the locale).
bool valid_milestone_id(std::string_view id);

/// The rule in words, for the end of an error message.
std::string_view milestone_id_rule();

/// `"<shown>" is not a valid milestone id; <rule>`: `shown` is the id as the caller can print
/// it safely (escaped).
std::string not_a_milestone_id(std::string_view shown);

} // namespace sf::core
