#include "core/milestone_id.hpp"

#include <algorithm>

namespace sf::core {

bool valid_milestone_id(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return false;
  // Byte checks, not <cctype> with a locale: only ASCII letters may reach a path or a ref.
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return letter(id[0]) && std::all_of(id.begin() + 1, id.end(), [&](char c) {
           return letter(c) || digit(c) || c == '_' || c == '-';
         });
}

std::string_view milestone_id_rule() {
  return "an id starts with a letter followed by up to 63 letters, digits, '_' or '-' "
         "(^[A-Za-z][A-Za-z0-9_-]{0,63}$, e.g. M001)";
}

std::string not_a_milestone_id(std::string_view shown) {
  return "\"" + std::string(shown) + "\" is not a valid milestone id; " +
         std::string(milestone_id_rule());
}

} // namespace sf::core
