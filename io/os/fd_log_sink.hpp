#pragma once
/// An spdlog sink that appends to a descriptor the caller opened (with `open_regular`), so the
/// coordinator's log never goes through spdlog's own open-by-path.

#include "io/os/unique_fd.hpp"

#include <caf/expected.hpp>

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>

namespace spdlog {
class logger;
}

namespace sf::io {

/// Writes each formatted line to its descriptor with one write (O_APPEND keeps lines whole).
class fd_log_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  /// Takes ownership of `fd`, an open, writable regular file.
  explicit fd_log_sink(unique_fd fd);

protected:
  /// Formats `msg` and writes it; a failed write is dropped (a log must not stop the run).
  void sink_it_(const spdlog::details::log_msg& msg) override;

  /// Nothing is buffered: every line is written at once.
  void flush_() override;

private:
  unique_fd fd_;
};

/// Opens `<dir>/<name>` for appending through `open_regular_at` and returns a logger named
/// `logger_name` writing there; the error names the file when it is a link, FIFO or folder.
caf::expected<std::shared_ptr<spdlog::logger>> open_file_logger(int dirfd,
                                                                const std::string& dir_label,
                                                                const std::string& name,
                                                                const std::string& logger_name);

} // namespace sf::io
