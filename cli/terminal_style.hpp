#pragma once
/// How reports look on a terminal: the spec's Markdown (`# Heading`, `**M001**`, `` `file` ``)
/// turned into bold and colour, so a person reads no literal asterisks. `NO_COLOR`, `TERM=dumb`
/// and output that is not a terminal get the Markdown unchanged, byte for byte.

#include <string>

namespace sf::cli {

/// True when output to `fd` should be styled: a terminal, `NO_COLOR` unset or empty, and a
/// `TERM` other than `dumb`.
bool styled_output(int fd);

/// The Markdown of a report with its markup replaced by ANSI bold and colours: headings bold
/// (without the `#`), `**x**` bold, `` `x` `` cyan, CONFLICT and failures red, successes green.
std::string style_markdown(const std::string& markdown);

/// `markdown` as output to `fd` should show it (styled or unchanged, see `styled_output`).
std::string for_fd(int fd, const std::string& markdown);

/// `for_fd` for standard output.
std::string for_stdout(const std::string& markdown);

} // namespace sf::cli
