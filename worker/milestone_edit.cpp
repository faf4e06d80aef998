#include "worker/milestone_edit.hpp"

#include "config/plan.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

namespace sf::worker {

namespace {

/// A line without its terminator ("\n" or "\r\n").
std::string_view strip_eol(std::string_view line) {
  if (!line.empty() && line.back() == '\n')
    line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  return line;
}

bool is_fence(std::string_view line) {
  auto l = strip_eol(line);
  while (!l.empty() && (l.back() == ' ' || l.back() == '\t'))
    l.remove_suffix(1);
  return l == "---";
}

bool is_closing_fence(std::string_view line) {
  auto l = strip_eol(line);
  while (!l.empty() && (l.back() == ' ' || l.back() == '\t'))
    l.remove_suffix(1);
  return l == "---" || l == "...";
}

/// True for a top-level `status` key: at column 0, so never a key nested in a slice or unit.
bool is_status_line(std::string_view line) {
  auto l = strip_eol(line);
  constexpr std::string_view key = "status";
  if (l.substr(0, key.size()) != key)
    return false;
  l.remove_prefix(key.size());
  while (!l.empty() && (l.front() == ' ' || l.front() == '\t'))
    l.remove_prefix(1);
  return !l.empty() && l.front() == ':';
}

} // namespace

caf::expected<std::string> set_front_matter_status(std::string_view text, std::string_view status,
                                                   const std::string& path) {
  // Split into lines keeping terminators, so the rebuilt text differs only in one line.
  std::size_t pos = 0;
  auto next_line = [&]() -> std::string_view {
    auto nl = text.find('\n', pos);
    auto end = nl == std::string_view::npos ? text.size() : nl + 1;
    auto line = text.substr(pos, end - pos);
    pos = end;
    return line;
  };
  auto first = next_line();
  if (!is_fence(first))
    return make_error(ec::invalid_input, path + ": does not start with a `---` front matter "
                                                "line; add the YAML front matter");
  std::string eol = first.size() >= 2 && first[first.size() - 2] == '\r' ? "\r\n" : "\n";
  std::string out(first);
  bool replaced = false;
  while (pos < text.size()) {
    auto line_start = pos;
    auto line = next_line();
    if (is_closing_fence(line)) {
      if (!replaced)
        out += "status: " + std::string(status) + eol;
      out += text.substr(line_start);
      return out;
    }
    if (!replaced && is_status_line(line)) {
      bool had_eol = !line.empty() && line.back() == '\n';
      out += "status: " + std::string(status);
      if (had_eol)
        out += eol;
      replaced = true;
      continue;
    }
    out += line;
  }
  return make_error(ec::invalid_input, path + ": the front matter has no closing `---` line; "
                                              "close it before the Markdown body");
}

caf::error mark_milestone_complete(const std::string& path) {
  auto text = io::read_file_capped(path, input_limits{}.max_file_bytes);
  if (!text)
    return text.error();
  auto edited = set_front_matter_status(*text, "complete", path);
  if (!edited)
    return edited.error();
  if (*edited == *text)
    return {}; // Already complete.
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return make_error(ec::invalid_input, "cannot edit " + path + ": give a path with a folder");
  return io::write_file_atomic(path.substr(0, slash), path.substr(slash + 1), *edited, 0644);
}

} // namespace sf::worker
