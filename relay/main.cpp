// sf-log-relay MAX_BYTES LOG_PATH: copies standard input (a worker's stdout and stderr) to
// LOG_PATH, which with LOG_PATH.1 never holds more than MAX_BYTES, and exits at end of file,
// once every process holding the pipe's write end has closed it. The supervisor starts it
// right before the worker, in its own process group and without the worker's spawn token, so
// neither a stop nor the token kill cuts off the last output; it outlives a coordinator that
// dies, so a worker's output keeps flowing. Kept small: it links no library of ours but
// io/os/capped_log, so its exec costs a fraction of a millisecond.
#include "io/os/capped_log.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: sf-log-relay MAX_BYTES LOG_PATH (started by sf-actors)\n");
    return 2;
  }
  char* end = nullptr;
  unsigned long long max = std::strtoull(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || max < 2) {
    std::fprintf(stderr, "sf-log-relay: MAX_BYTES '%s' is not a number >= 2\n", argv[1]);
    return 2;
  }
  // A hang-up or Ctrl-C of the terminal is not the end of the worker's output; a broken
  // stderr must not kill us either. SIGTERM and SIGKILL still end it.
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  sf::io::capped_log log{argv[2], static_cast<std::size_t>(max)};
  static char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) {
      log.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    break;
  }
  log.finish();
  return 0;
}
