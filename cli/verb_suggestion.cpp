#include "cli/verb_suggestion.hpp"

#include "core/edit_distance.hpp"

#include <algorithm>
#include <cstring>

namespace sf::cli {

std::string typed_verb(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "-C") == 0) {
      ++i; // Its value, not a verb.
      continue;
    }
    if (arg[0] == '-')
      continue;
    return arg;
  }
  return {};
}

std::optional<std::string> closest_verb(const std::string& word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    auto d = core::edit_distance(word, c);
    if (!best || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  // A typo changes a few letters; anything further is another word, not worth suggesting.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (!best || best_distance > limit)
    return std::nullopt;
  return best;
}

std::string unknown_verb_message(const std::string& word,
                                 const std::vector<std::string>& candidates) {
  std::string text = "unknown command '" + word + "'; ";
  if (auto near = closest_verb(word, candidates))
    text += "did you mean '" + *near + "'? See 'sf-actors help'.";
  else
    text += "see 'sf-actors help' for the commands.";
  return text;
}

} // namespace sf::cli
