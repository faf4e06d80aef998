#pragma once
/// Splits an agent's output, arriving in chunks cut anywhere, into lines of bounded length.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sf::agents {

/// Receives one complete line, without its `\n` and without a trailing `\r`.
using line_handler = std::function<void(std::string_view line)>;

/// Cuts a byte stream into lines. A line longer than the limit is skipped whole (up to its
/// newline) and never buffered, so a runaway agent cannot make its reader grow without bound.
class line_splitter {
public:
  /// Lines longer than `max_line_bytes` (not counting `\n`) are skipped.
  explicit line_splitter(std::size_t max_line_bytes) : max_(max_line_bytes) {}

  /// Hands every line that `chunk` completes to `on_line`; keeps an unfinished tail.
  void feed(std::string_view chunk, const line_handler& on_line);

  /// Hands over a last line that had no trailing newline; call once at end of output.
  void finish(const line_handler& on_line);

  /// Bytes kept of the unfinished last line (0 while an overlong line is being skipped).
  std::size_t buffered() const noexcept { return tail_.size(); }

  /// Number of overlong lines skipped so far.
  std::size_t skipped() const noexcept { return skipped_; }

private:
  void end_line(std::string_view line, const line_handler& on_line);

  std::size_t max_;
  std::string tail_;
  bool overlong_ = false;
  std::size_t skipped_ = 0;
};

} // namespace sf::agents
