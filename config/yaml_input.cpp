#include "config/yaml_input.hpp"

#include "config/escape.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace sf {

namespace {

/// One line of `text` starting at `pos`, without its terminator; advances `pos` past it.
std::string_view next_line(std::string_view text, std::size_t& pos) {
  auto end = text.find('\n', pos);
  auto stop = end == std::string_view::npos ? text.size() : end;
  auto line = text.substr(pos, stop - pos);
  pos = end == std::string_view::npos ? text.size() : end + 1;
  // Windows line endings must not make "---\r" look like content.
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  return line;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool only_blanks(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// Closes an fd on every exit path.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

caf::expected<front_matter> split_front_matter(std::string_view text, const std::string& path) {
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0)
    text.remove_prefix(3);
  if (only_blanks(text))
    return make_error(ec::invalid_input,
                      path + ": the file is empty; start it with a \"---\" line, the YAML front "
                             "matter, and a closing \"---\" line");
  std::size_t pos = 0;
  if (trim_right(next_line(text, pos)) != "---")
    return make_error(ec::invalid_input,
                      path + ":1: no front matter: the first line must be \"---\"; put the YAML "
                             "between a \"---\" line at the top and a second \"---\" line");
  front_matter out;
  auto yaml_begin = pos;
  std::size_t line_no = 1;
  while (pos < text.size()) {
    auto line_begin = pos;
    auto line = trim_right(next_line(text, pos));
    ++line_no;
    if (line == "---" || line == "...") {
      out.yaml = std::string{text.substr(yaml_begin, line_begin - yaml_begin)};
      out.first_line = 2;
      out.body = std::string{text.substr(pos)};
      return out;
    }
  }
  return make_error(ec::invalid_input,
                    path +
                        ":1: the front matter opened on line 1 is never closed; add a line "
                        "\"---\" after the YAML (the file has " +
                        std::to_string(line_no) + " lines)");
}

caf::expected<std::string> read_input_file_at(int dir_fd, const std::string& name,
                                              const std::string& path, const input_limits& limits) {
  // O_NONBLOCK keeps a FIFO planted under the expected name from hanging the open.
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return make_error(ec::not_found, path + ": no such file");
    if (err == ELOOP)
      return make_error(ec::unsafe_path, path + ": is a symbolic link, which is refused; "
                                                "replace it with a regular file");
    return make_error(ec::io_error, path + ": cannot open: " + std::strerror(err));
  }
  fd_guard guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return make_error(ec::io_error, path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return make_error(ec::invalid_input,
                      path + ": is not a regular file; replace it with a Markdown file");
  auto too_big = [&](std::size_t size) {
    return make_error(ec::invalid_input, path + ": the file has " + std::to_string(size) +
                                             " bytes, more than the limit of " +
                                             std::to_string(limits.max_file_bytes) +
                                             "; make it smaller");
  };
  if (static_cast<std::size_t>(st.st_size) > limits.max_file_bytes)
    return too_big(static_cast<std::size_t>(st.st_size));
  std::string out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  // The file may grow after fstat: the cap is enforced on what is actually read, too.
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return make_error(ec::io_error, path + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limits.max_file_bytes)
      return too_big(out.size());
  }
  return out;
}

caf::expected<std::string> read_input_file(const std::string& path, const input_limits& limits) {
  return read_input_file_at(AT_FDCWD, path, path, limits);
}

caf::error check_yaml_depth(std::string_view yaml, std::size_t first_line, const std::string& path,
                            std::size_t max_depth) {
  // A conservative scanner, not a parser: it may over-count in odd plain scalars, never under-count
  // flow brackets. The exact depth is checked again on the loaded tree.
  std::vector<std::size_t> block; // indentation columns of the open block levels
  std::size_t flow = 0;           // open flow brackets
  bool in_single = false;
  bool in_double = false;
  bool in_block_scalar = false;
  std::size_t block_scalar_indent = 0;
  std::size_t pos = 0;
  std::size_t line_no = first_line - 1;
  auto too_deep = [&] {
    return make_error(ec::invalid_input,
                      path + ":" + std::to_string(line_no) + ": the YAML nests deeper than " +
                          std::to_string(max_depth) + " levels; flatten the front matter");
  };
  while (pos < yaml.size()) {
    auto line = next_line(yaml, pos);
    ++line_no;
    auto indent = line.find_first_not_of(' ');
    if (indent == std::string_view::npos)
      continue;
    if (in_block_scalar) {
      if (indent > block_scalar_indent)
        continue;
      in_block_scalar = false;
    }
    std::size_t i = 0;
    bool value_start = false;
    if (!in_single && !in_double && flow == 0) {
      if (line[indent] == '#')
        continue;
      // Each "- " opens one more block level at its column, so "- - - x" counts three.
      i = indent;
      for (;;) {
        while (!block.empty() && block.back() > i)
          block.pop_back();
        if (block.empty() || block.back() < i)
          block.push_back(i);
        if (block.size() > max_depth)
          return too_deep();
        if (line[i] == '-' && (i + 1 == line.size() || line[i + 1] == ' ')) {
          auto next = line.find_first_not_of(' ', i + 1);
          if (next == std::string_view::npos) {
            i = line.size();
            break;
          }
          i = next;
          continue;
        }
        break;
      }
      value_start = true;
    }
    char prev = ' ';
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (in_double) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          in_double = false;
        continue;
      }
      if (in_single) {
        if (c == '\'') {
          if (i + 1 < line.size() && line[i + 1] == '\'')
            ++i;
          else
            in_single = false;
        }
        continue;
      }
      if (c == '#' && (prev == ' ' || prev == '\t'))
        break;
      if (flow > 0) {
        if (c == '[' || c == '{') {
          ++flow;
          if (block.size() + flow > max_depth)
            return too_deep();
        } else if (c == ']' || c == '}') {
          --flow;
          if (flow == 0)
            value_start = false;
        } else if ((c == '"' || c == '\'') &&
                   (prev == '[' || prev == '{' || prev == ',' || prev == ':' || prev == ' ')) {
          (c == '"' ? in_double : in_single) = true;
        }
      } else if (value_start) {
        if (c == ' ' || c == '\t') {
          // still waiting for the value's first character
        } else if (c == '&' || c == '!') {
          // An anchor or tag precedes the value it names.
          while (i + 1 < line.size() && line[i + 1] != ' ')
            ++i;
        } else if (c == '[' || c == '{') {
          flow = 1;
          if (block.size() + flow > max_depth)
            return too_deep();
        } else if (c == '"') {
          in_double = true;
          value_start = false;
        } else if (c == '\'') {
          in_single = true;
          value_start = false;
        } else if (c == '|' || c == '>') {
          in_block_scalar = true;
          block_scalar_indent = block.empty() ? 0 : block.back();
          break;
        } else {
          value_start = false;
        }
      } else if (c == ':' && (i + 1 == line.size() || line[i + 1] == ' ')) {
        value_start = true;
      }
      prev = c;
    }
  }
  return {};
}

caf::expected<YAML::Node> load_yaml(std::string_view yaml, std::size_t first_line,
                                    const std::string& path, const input_limits& limits) {
  if (auto err = check_yaml_depth(yaml, first_line, path, limits.max_depth))
    return err;
  YAML::Node root;
  try {
    root = YAML::Load(std::string{yaml});
  } catch (const YAML::Exception& e) {
    std::string where = path;
    if (!e.mark.is_null())
      where += ":" + std::to_string(first_line + static_cast<std::size_t>(e.mark.line));
    return make_error(ec::invalid_input,
                      where + ": the front matter is not valid YAML (" + e.msg + "); fix it");
  } catch (const std::exception& e) {
    return make_error(ec::invalid_input, path + ": cannot load the front matter: " + e.what());
  }
  // Aliases share one node in yaml-cpp, so a tiny file can describe a huge tree: count each use,
  // and count at push time so the work stack itself stays bounded by max_nodes.
  std::vector<std::pair<YAML::Node, std::size_t>> todo;
  std::size_t count = 1;
  todo.emplace_back(root, 1);
  auto push = [&](const YAML::Node& n, std::size_t depth) -> caf::error {
    if (++count > limits.max_nodes)
      return make_error(ec::invalid_input,
                        path + ": the front matter expands to more than " +
                            std::to_string(limits.max_nodes) +
                            " YAML nodes (each use of an alias counts); remove repeated aliases");
    if (depth > limits.max_depth)
      return make_error(ec::invalid_input,
                        path + ":" + std::to_string(line_of(n, first_line, first_line)) +
                            ": the YAML nests deeper than " + std::to_string(limits.max_depth) +
                            " levels; flatten the front matter");
    todo.emplace_back(n, depth);
    return {};
  };
  while (!todo.empty()) {
    auto [node, depth] = todo.back();
    todo.pop_back();
    if (node.IsSequence()) {
      for (const auto& child : node)
        if (auto err = push(child, depth + 1))
          return err;
    } else if (node.IsMap()) {
      for (const auto& kv : node) {
        if (auto err = push(kv.first, depth + 1))
          return err;
        if (auto err = push(kv.second, depth + 1))
          return err;
      }
    }
  }
  return root;
}

std::size_t line_of(const YAML::Node& node, std::size_t first_line, std::size_t fallback) {
  auto mark = node.Mark();
  if (mark.is_null() || mark.line < 0)
    return fallback;
  return first_line + static_cast<std::size_t>(mark.line);
}

bool is_plain_scalar(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() == "?";
}

std::string describe_value(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull())
    return "null";
  if (node.IsSequence())
    return "a list";
  if (node.IsMap())
    return "a map";
  if (is_plain_scalar(node))
    return escape_text(node.Scalar());
  return "\"" + escape_text(node.Scalar()) + "\"";
}

bool matches_int(const std::string& s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size())
    return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// No .inf/.nan: none of our keys wants them.
bool matches_number(const std::string& s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+'))
    ++i;
  std::size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9')
    ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i, ++digits;
  }
  if (digits == 0)
    return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+'))
      ++i;
    std::size_t exp = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i, ++exp;
    if (exp == 0)
      return false;
  }
  return i == s.size();
}

} // namespace sf
