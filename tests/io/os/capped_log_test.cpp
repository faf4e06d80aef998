// io::capped_log and the sf-log-relay program: the log and its rotated copy stay within the
// cap after every write, whoever writes; planted links and FIFOs are refused, not followed.
#include "io/os/capped_log.hpp"
#include "io/os/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace sf::io;
using sf::test::read_file;
using sf::test::temp_dir;
using sf::test::write_file;

namespace {

/// Size of `path`, 0 when absent.
std::size_t size_of(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

/// Both files together.
std::size_t total(const std::string& log) {
  return size_of(log) + size_of(log + ".1");
}

/// Content of `path`, empty when absent.
std::string content(const std::string& path) {
  return std::filesystem::exists(path) ? read_file(path) : std::string();
}

/// Numbered lines, so any cut or reordering shows.
std::string numbered(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i)
    out += "line " + std::to_string(i) + "\n";
  return out;
}

} // namespace

TEST_CASE("a capped log and its rotated copy never exceed the cap, and keep the newest bytes",
          "[cappedlog]") {
  temp_dir dir;
  auto path = dir / "M001.log";
  capped_log log{path, 1000};
  CHECK(log.file_limit() == 500);
  auto text = numbered(0, 2000);
  std::mt19937 rng{7};
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t n = std::min<std::size_t>(text.size() - at, 1 + rng() % 700);
    log.append(text.data() + at, n);
    at += n;
    REQUIRE(total(path) <= 1000);
    REQUIRE(size_of(path) <= 500);
  }
  CHECK(log.dropped() == 0);
  // The older half is the previous file, the rest the current one: together the end of the
  // output, in order.
  auto kept = content(path + ".1") + content(path);
  CHECK(kept.size() >= 500);
  CHECK(text.compare(text.size() - kept.size(), kept.size(), kept) == 0);
}

TEST_CASE("several writers of one capped log share the cap and follow each other's rotations",
          "[cappedlog]") {
  temp_dir dir;
  auto path = dir / "M001.log";
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w)
    writers.emplace_back([path, w] {
      capped_log log{path, 4096};
      std::string chunk(97, static_cast<char>('a' + w));
      for (int i = 0; i < 2000; ++i)
        log.append(chunk.data(), chunk.size());
    });
  // Each file on its own stays within half the cap, so every sample of the two does too.
  std::atomic<bool> done{false};
  std::size_t worst = 0;
  std::thread sampler([&] {
    while (!done) {
      worst = std::max(worst, total(path));
      std::this_thread::yield();
    }
  });
  for (auto& t : writers)
    t.join();
  done = true;
  sampler.join();
  CHECK(worst <= 4096);
  CHECK(total(path) <= 4096);
  CHECK(size_of(path) > 0);
}

TEST_CASE("a planted link or FIFO is refused without following or blocking, and the loss is told",
          "[cappedlog]") {
  temp_dir dir;
  auto path = dir / "M001.log";
  auto victim = dir / "victim.txt";
  write_file(victim, "outside\n");
  SECTION("a symbolic link") {
    REQUIRE(::symlink(victim.c_str(), path.c_str()) == 0);
    capped_log log{path, 1000};
    log.append("secret\n", 7);
    CHECK(read_file(victim) == "outside\n");
    CHECK(log.dropped() == 7);
    CHECK(log.last_error().find("symbolic link") != std::string::npos);
  }
  SECTION("a FIFO, which nobody reads") {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    capped_log log{path, 1000};
    log.append("secret\n", 7); // Returns at once: the open does not wait for a reader.
    CHECK(log.dropped() == 7);
    CHECK(log.last_error().find("FIFO") != std::string::npos);
    // Once the FIFO is gone the log is written again, and says first what it lost.
    REQUIRE(::unlink(path.c_str()) == 0);
    log.append("after\n", 6);
    auto text = read_file(path);
    CHECK(text.find("[sf-log-relay: 7 bytes of output were dropped") == 0);
    CHECK(text.find("after\n") != std::string::npos);
  }
}

TEST_CASE("sf-log-relay copies a flood within the cap and ends when the writers are gone",
          "[cappedlog]") {
  temp_dir dir;
  auto path = dir / "M001.log";
  auto relay = std::filesystem::path(SF_CLI_PATH).parent_path() / "sf-log-relay";
  REQUIRE(std::filesystem::exists(relay));
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  spawn_request req;
  req.argv = {relay.string(), "1000000", path};
  req.input_fd = fds[0];
  auto child = spawn_process(req);
  ::close(fds[0]);
  REQUIRE(child);
  // 3 MB of numbered lines, with the cap checked as they go.
  auto text = numbered(0, 300000);
  std::size_t worst = 0;
  for (std::size_t at = 0; at < text.size();) {
    auto n = ::write(fds[1], text.data() + at, std::min<std::size_t>(65536, text.size() - at));
    REQUIRE(n > 0);
    at += static_cast<std::size_t>(n);
    worst = std::max(worst, total(path));
  }
  ::close(fds[1]);
  pollfd pfd{child->pidfd(), POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 30000) == 1);
  int status = 0;
  REQUIRE(child->try_reap(status));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(worst <= 1000000);
  CHECK(total(path) <= 1000000);
  auto kept = content(path + ".1") + content(path);
  CHECK(kept.size() >= 500000);
  CHECK(text.compare(text.size() - kept.size(), kept.size(), kept) == 0);
}
