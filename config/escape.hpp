#pragma once
/// Printable, one-line rendering of untrusted text (file names, ids, values) for messages.

#include <cstddef>
#include <string>
#include <string_view>

namespace sf {

/// `text` on one printable line: `\n`, `\r`, `\t` and `\\` escaped, other control bytes as `\xNN`,
/// cut after `max` characters with a trailing `...`.
std::string escape_text(std::string_view text, std::size_t max = 80);

/// `text` in single quotes for /bin/sh (a quote becomes `'\''`).
std::string sh_quote(std::string_view text);

/// `text` as a YAML single-quoted scalar (a quote is doubled).
std::string yaml_quote(std::string_view text);

} // namespace sf
