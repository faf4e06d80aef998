#include "agents/readable_text.hpp"

namespace sf::agents {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back()))
    s.remove_suffix(1);
  return s;
}

// Control characters would break a terminal line; tabs read fine as spaces.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\t')
      out += ' ';
    else if (u >= 0x20 && u != 0x7f)
      out += c;
  }
  return out;
}

} // namespace

std::string cap_bytes(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes)
    return std::string(text);
  constexpr std::string_view ellipsis = "...";
  std::size_t keep = max_bytes > ellipsis.size() ? max_bytes - ellipsis.size() : 0;
  // Back up over UTF-8 continuation bytes so a character is never cut in half.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80)
    --keep;
  return std::string(text.substr(0, keep)) + std::string(ellipsis);
}

std::string one_line(std::string_view text, std::size_t max_bytes) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    if (!line.empty())
      return cap_bytes(printable(line), max_bytes);
    if (nl == std::string_view::npos)
      break;
    text.remove_prefix(nl + 1);
  }
  return {};
}

std::vector<std::string> transcript_lines(std::string_view prefix, std::string_view text) {
  std::vector<std::string> out;
  std::size_t dropped = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    while (!line.empty() && is_blank(line.back()))
      line.remove_suffix(1);
    if (!trim(line).empty()) {
      if (out.size() < max_transcript_lines_per_event) {
        std::string lead = out.empty() ? std::string(prefix) + " " : "  ";
        out.push_back(cap_bytes(lead + printable(out.empty() ? trim(line) : line),
                                max_transcript_line_bytes));
      } else {
        ++dropped;
      }
    }
    if (nl == std::string_view::npos)
      break;
    text.remove_prefix(nl + 1);
  }
  if (out.empty())
    out.push_back(std::string(prefix));
  if (dropped > 0)
    out.push_back("  ... (" + std::to_string(dropped) + " more lines)");
  return out;
}

std::string unwrap_shell(std::string_view command) {
  auto s = trim(command);
  auto space = s.find(' ');
  if (space == std::string_view::npos)
    return std::string(s);
  auto shell = s.substr(0, space);
  auto slash = shell.rfind('/');
  auto name = slash == std::string_view::npos ? shell : shell.substr(slash + 1);
  if (name != "bash" && name != "sh" && name != "zsh")
    return std::string(s);
  auto rest = trim(s.substr(space + 1));
  for (std::string_view flag : {"-lc ", "-c "}) {
    if (rest.substr(0, flag.size()) != flag)
      continue;
    auto script = trim(rest.substr(flag.size()));
    // Only a script in one pair of plain quotes is unwrapped; nested quoting stays as written.
    if (script.size() >= 2 && (script.front() == '\'' || script.front() == '"') &&
        script.back() == script.front() &&
        script.substr(1, script.size() - 2).find(script.front()) == std::string_view::npos)
      return std::string(script.substr(1, script.size() - 2));
    return std::string(script);
  }
  return std::string(s);
}

} // namespace sf::agents
