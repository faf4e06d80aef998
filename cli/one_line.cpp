#include "cli/one_line.hpp"

namespace sf::cli {

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    // C0 controls and DEL; bytes >= 0x80 are left alone so UTF-8 titles survive.
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

} // namespace sf::cli
