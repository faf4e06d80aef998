#include "agents/line_splitter.hpp"

namespace sf::agents {

void line_splitter::feed(std::string_view chunk, const line_handler& on_line) {
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    auto piece = chunk.substr(0, nl);
    if (!overlong_ && tail_.size() + piece.size() > max_) {
      // Drop what we have: the rest of this line is skipped up to its newline.
      overlong_ = true;
      tail_.clear();
      tail_.shrink_to_fit();
    }
    if (nl == std::string_view::npos) {
      if (!overlong_)
        tail_.append(piece);
      return;
    }
    if (overlong_) {
      overlong_ = false;
      ++skipped_;
    } else if (tail_.empty()) {
      // The common case, a whole line inside one chunk, is handed over without a copy.
      end_line(piece, on_line);
    } else {
      tail_.append(piece);
      std::string line;
      line.swap(tail_);
      end_line(line, on_line);
    }
    chunk.remove_prefix(nl + 1);
  }
}

void line_splitter::finish(const line_handler& on_line) {
  if (overlong_) {
    overlong_ = false;
    ++skipped_;
  } else if (!tail_.empty()) {
    std::string line;
    line.swap(tail_);
    end_line(line, on_line);
  }
}

void line_splitter::end_line(std::string_view line, const line_handler& on_line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  on_line(line);
}

} // namespace sf::agents
