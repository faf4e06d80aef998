#pragma once
/// How far apart two words are, for "did you mean" suggestions (preference keys, verbs).

#include <cstddef>
#include <string>

namespace sf::core {

/// Optimal string alignment distance: Levenshtein plus swaps of two neighbouring letters
/// ("cieling", "stauts" are one edit away), as typos usually are.
std::size_t edit_distance(const std::string& a, const std::string& b);

} // namespace sf::core
