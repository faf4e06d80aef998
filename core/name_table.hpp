#pragma once
/// name_table: the one name table of a core enum, indexed by the enum's value (enums declared
/// 0, 1, 2, ... in table order). Every codec, renderer and log line goes through it.

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace sf::core {

/// Names of the values of `E`, in declaration order.
template <class E, std::size_t N> struct name_table {
  std::array<std::string_view, N> names; ///< names[i] is the name of E(i).

  /// The name of `e`.
  constexpr std::string_view name(E e) const { return names[static_cast<std::size_t>(e)]; }

  /// The value named `name`, if any (exact, case-sensitive).
  std::optional<E> parse(std::string_view name) const {
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == name)
        return static_cast<E>(i);
    return std::nullopt;
  }
};

} // namespace sf::core
