#include "cli/terminal_style.hpp"

#include <fmt/color.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace sf::cli {

namespace {

// Words whose colour tells the outcome at a glance; matched as written by the reports.
struct keyword {
  const char* text;
  fmt::text_style style;
};

const keyword keywords[] = {
  {"CONFLICT", fmt::emphasis::bold | fmt::fg(fmt::terminal_color::red)},
  {"GATE FAILED", fmt::emphasis::bold | fmt::fg(fmt::terminal_color::red)},
  {"failed", fmt::fg(fmt::terminal_color::red)},
  {"would conflict", fmt::fg(fmt::terminal_color::red)},
  {"merged successfully", fmt::fg(fmt::terminal_color::green)},
  {"would merge cleanly", fmt::fg(fmt::terminal_color::green)},
};

// Styles `**bold**`, `` `code` `` and the keywords of one line (the heading marks are gone).
std::string style_inline(const std::string& line, bool heading, const fmt::text_style& base) {
  std::string out;
  std::size_t i = 0;
  auto plain = [&](const std::string& text) {
    out += heading ? fmt::format(base, "{}", text) : text;
  };
  while (i < line.size()) {
    if (line.compare(i, 2, "**") == 0) {
      auto end = line.find("**", i + 2);
      if (end != std::string::npos) {
        out += fmt::format(base | fmt::emphasis::bold, "{}", line.substr(i + 2, end - i - 2));
        i = end + 2;
        continue;
      }
    }
    if (line[i] == '`') {
      auto end = line.find('`', i + 1);
      if (end != std::string::npos) {
        out += fmt::format(base | fmt::fg(fmt::terminal_color::cyan), "{}",
                           line.substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
    }
    bool matched = false;
    for (const auto& k : keywords) {
      auto n = std::strlen(k.text);
      if (line.compare(i, n, k.text) == 0) {
        out += fmt::format(base | k.style, "{}", k.text);
        i += n;
        matched = true;
        break;
      }
    }
    if (matched)
      continue;
    // Up to the next character that may start markup.
    auto next = line.find_first_of("*`Cfwm", i + 1);
    plain(line.substr(i, (next == std::string::npos ? line.size() : next) - i));
    i = next == std::string::npos ? line.size() : next;
  }
  return out;
}

} // namespace

bool styled_output(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return ::isatty(fd) == 1 && (no_color == nullptr || *no_color == '\0') &&
         (term == nullptr || std::strcmp(term, "dumb") != 0);
}

std::string style_markdown(const std::string& markdown) {
  std::istringstream in(markdown);
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    fmt::text_style base;
    std::size_t level = 0;
    while (level < line.size() && line[level] == '#')
      ++level;
    const bool heading = level > 0 && level < line.size() && line[level] == ' ';
    if (heading) {
      line = line.substr(level + 1);
      base = fmt::text_style(fmt::emphasis::bold);
      if (level == 1)
        base |= fmt::text_style(fmt::emphasis::underline);
    }
    out += style_inline(line, heading, base);
    if (!in.eof())
      out += '\n';
  }
  return out;
}

std::string for_fd(int fd, const std::string& markdown) {
  return styled_output(fd) ? style_markdown(markdown) : markdown;
}

std::string for_stdout(const std::string& markdown) { return for_fd(STDOUT_FILENO, markdown); }

} // namespace sf::cli
