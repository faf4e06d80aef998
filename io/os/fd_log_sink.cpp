#include "io/os/fd_log_sink.hpp"

#include "io/os/safe_file.hpp"

#include <spdlog/logger.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace sf::io {

fd_log_sink::fd_log_sink(unique_fd fd) : fd_(std::move(fd)) {}

void fd_log_sink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  const char* data = formatted.data();
  std::size_t left = formatted.size();
  while (left > 0) {
    ssize_t n = ::write(fd_.get(), data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // Disk full or gone: the line is lost, the run goes on.
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

void fd_log_sink::flush_() {}

caf::expected<std::shared_ptr<spdlog::logger>> open_file_logger(int dirfd,
                                                                const std::string& dir_label,
                                                                const std::string& name,
                                                                const std::string& logger_name) {
  auto fd = open_regular_at(dirfd, dir_label, name, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (!fd)
    return fd.error();
  auto sink = std::make_shared<fd_log_sink>(std::move(*fd));
  return std::make_shared<spdlog::logger>(logger_name, std::move(sink));
}

} // namespace sf::io
