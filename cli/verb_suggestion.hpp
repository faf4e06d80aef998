#pragma once
/// Unknown verbs: finding the verb of a command line before CLI11 parses it, and the closest
/// known verb to suggest, the way git answers `git comit`.

#include <optional>
#include <string>
#include <vector>

namespace sf::cli {

/// The first word of `argv` that is not an option or `-C`'s value: the verb the user typed,
/// or empty when there is none (only options).
std::string typed_verb(int argc, const char* const* argv);

/// The candidate closest to `word` in edit distance, when close enough to be a likely typo.
std::optional<std::string> closest_verb(const std::string& word,
                                        const std::vector<std::string>& candidates);

/// `unknown command 'strat'; did you mean 'start'? See 'sf-actors help'.` (without a
/// suggestion when none is close).
std::string unknown_verb_message(const std::string& word,
                                 const std::vector<std::string>& candidates);

} // namespace sf::cli
