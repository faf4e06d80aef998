#include "io/io_test_util.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

using namespace sf;
using namespace sf::io;
using sf::test::temp_dir;

TEST_CASE("unique_fd owns, moves and releases a descriptor", "[io][safe_file]") {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(raw >= 0);
  {
    unique_fd a{raw};
    unique_fd b{std::move(a)};
    CHECK_FALSE(a);
    CHECK(b.get() == raw);
    unique_fd c;
    c = std::move(b);
    CHECK(c.get() == raw);
  }
  // Closed by the destructor of `c`.
  CHECK(::fcntl(raw, F_GETFD) == -1);
  CHECK(errno == EBADF);

  int raw2 = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(raw2 >= 0);
  {
    unique_fd d{raw2};
    CHECK(d.release() == raw2);
    CHECK(d.get() == -1);
  }
  CHECK(::fcntl(raw2, F_GETFD) != -1);
  ::close(raw2);
}

TEST_CASE("random_hex gives distinct hex names", "[io][safe_file]") {
  auto a = random_hex();
  auto b = random_hex();
  CHECK(a.size() == 16);
  CHECK(a != b);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("write_file_atomic writes content with the asked mode and no temp left",
          "[io][safe_file]") {
  temp_dir dir;
  auto old_mask = ::umask(022);
  REQUIRE_FALSE(write_file_atomic(dir.path(), "a.json", "{\"x\":1}", 0660));
  ::umask(old_mask);
  CHECK(sf::test::read_file(dir / "a.json") == "{\"x\":1}");
  // 0660 survives a 022 umask: the mode is set explicitly.
  CHECK(sf::test::mode_of(dir / "a.json") == 0660);

  // Replacing keeps only the new content.
  REQUIRE_FALSE(write_file_atomic(dir.path(), "a.json", "second", 0600));
  CHECK(sf::test::read_file(dir / "a.json") == "second");
  CHECK(sf::test::mode_of(dir / "a.json") == 0600);

  // A large payload goes through the write loop intact.
  std::string big(3 * 1024 * 1024 + 17, 'z');
  big[12345] = 'q';
  REQUIRE_FALSE(write_file_atomic(dir.path(), "big", big, 0644));
  CHECK(sf::test::read_file(dir / "big") == big);

  CHECK(sf::test::list_dir(dir.path()) == std::vector<std::string>{"a.json", "big"});
}

TEST_CASE("write_file_replace replaces content atomically with the asked mode",
          "[io][safe_file]") {
  temp_dir dir;
  REQUIRE_FALSE(write_file_replace(dir.path(), "s.json", "one", 0600));
  REQUIRE_FALSE(write_file_replace(dir.path(), "s.json", "two", 0640));
  CHECK(sf::test::read_file(dir / "s.json") == "two");
  CHECK(sf::test::mode_of(dir / "s.json") == 0640);
  CHECK(sf::test::list_dir(dir.path()) == std::vector<std::string>{"s.json"});
  // The same refusals as the durable write: one plain name only.
  CHECK(write_file_replace(dir.path(), "../x", "no", 0600));
  // Replacing swaps in a new file and removes the old one at once (no temp left behind).
  for (int i = 0; i < 20; ++i) {
    REQUIRE_FALSE(write_file_replace(dir.path(), "s.json", "n" + std::to_string(i), 0600));
    REQUIRE(sf::test::read_file(dir / "s.json") == "n" + std::to_string(i));
  }
  CHECK(sf::test::list_dir(dir.path()) == std::vector<std::string>{"s.json"});
}

TEST_CASE("write_file_replace never swaps a folder out of the way", "[io][safe_file]") {
  temp_dir dir;
  sf::test::write_file(dir / "target/keep", "k");
  auto err = write_file_replace(dir.path(), "target", "data", 0600);
  REQUIRE(err);
  CHECK(describe(err).find(dir / "target") != std::string::npos);
  CHECK(sf::test::read_file(dir / "target/keep") == "k");
  CHECK(sf::test::count_temp_files(dir.path()) == 0);
}

TEST_CASE("write_file_atomic reports a failed rename and removes its temp file",
          "[io][safe_file]") {
  temp_dir dir;
  // A non-empty folder under the final name makes renameat fail even for root.
  sf::test::write_file(dir / "target/keep", "k");
  auto err = write_file_atomic(dir.path(), "target", "data", 0600);
  REQUIRE(err);
  CHECK(code_of(err) == ec::io_error);
  auto text = describe(err);
  CHECK(text.find(dir / "target") != std::string::npos);
  CHECK(text.find("directory") != std::string::npos); // errno text (EISDIR)
  CHECK(sf::test::count_temp_files(dir.path()) == 0);
  CHECK(sf::test::read_file(dir / "target/keep") == "k");
}

TEST_CASE("write_file_atomic into a removed folder fails with the path", "[io][safe_file]") {
  temp_dir dir;
  std::filesystem::create_directories(dir / "gone");
  auto fd = open_dir_nofollow(dir / "gone");
  REQUIRE(fd);
  std::filesystem::remove(dir / "gone");
  auto err = write_file_atomic(fd->get(), dir / "gone", "x.json", "data", 0600);
  REQUIRE(err);
  CHECK(describe(err).find(dir / "gone/x.json.tmp.") != std::string::npos);
}

TEST_CASE("write_file_atomic refuses names that are not plain", "[io][safe_file]") {
  temp_dir dir;
  for (const char* name : {"", ".", "..", "a/b", "../x"}) {
    INFO(name);
    CHECK(code_of(write_file_atomic(dir.path(), name, "x", 0600)) == ec::invalid_input);
  }
  CHECK(sf::test::list_dir(dir.path()).empty());
}

TEST_CASE("open_dir_nofollow refuses a symbolic link", "[io][safe_file][symlink]") {
  temp_dir dir;
  std::filesystem::create_directories(dir / "real");
  REQUIRE(::symlink((dir / "real").c_str(), (dir / "link").c_str()) == 0);
  CHECK(open_dir_nofollow(dir / "real"));
  auto fd = open_dir_nofollow(dir / "link");
  REQUIRE_FALSE(fd);
  CHECK(code_of(fd.error()) == ec::unsafe_path);
  CHECK(describe(fd.error()).find(dir / "link") != std::string::npos);
  CHECK(describe(fd.error()).find("remove") != std::string::npos);
  // Writing through the link is refused too, and nothing lands in the target.
  CHECK(code_of(write_file_atomic(dir / "link", "f", "x", 0600)) == ec::unsafe_path);
  CHECK(sf::test::list_dir(dir / "real").empty());
  auto missing = open_dir_nofollow(dir / "nope");
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == ec::not_found);
}

TEST_CASE("read_file_capped enforces size, type and links", "[io][safe_file]") {
  temp_dir dir;
  sf::test::write_file(dir / "ten", "0123456789");
  auto ok = read_file_capped(dir / "ten", 10);
  REQUIRE(ok);
  CHECK(*ok == "0123456789");

  auto big = read_file_capped(dir / "ten", 9);
  REQUIRE_FALSE(big);
  CHECK(code_of(big.error()) == ec::invalid_input);
  CHECK(describe(big.error()).find("limit of 9") != std::string::npos);

  auto missing = read_file_capped(dir / "none", 10);
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == ec::not_found);

  REQUIRE(::symlink((dir / "ten").c_str(), (dir / "link").c_str()) == 0);
  auto link = read_file_capped(dir / "link", 100);
  REQUIRE_FALSE(link);
  CHECK(code_of(link.error()) == ec::unsafe_path);
  CHECK(describe(link.error()).find(dir / "link") != std::string::npos);

  // A FIFO would block a plain open; it must be refused at once.
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  auto fifo = read_file_capped(dir / "fifo", 100);
  REQUIRE_FALSE(fifo);
  CHECK(describe(fifo.error()).find("not a regular file") != std::string::npos);

  std::filesystem::create_directories(dir / "sub");
  CHECK_FALSE(read_file_capped(dir / "sub", 100));

  auto dirfd = open_dir_nofollow(dir.path());
  REQUIRE(dirfd);
  auto at = read_file_capped(dirfd->get(), dir.path(), "ten", 100);
  REQUIRE(at);
  CHECK(*at == "0123456789");
  CHECK(code_of(read_file_capped(dirfd->get(), dir.path(), "../x", 100).error()) ==
        ec::invalid_input);
}

TEST_CASE("read_file_capped reads past the size fstat reported, up to the cap",
          "[io][safe_file]") {
  // The buffer starts at fstat's size; a file that reports 0 bytes but has more (as /proc's
  // do, or one that grows while read) must still be read whole, and the cap still holds.
  auto whole = read_file_capped("/proc/self/status", 1 << 20);
  REQUIRE(whole);
  CHECK(whole->rfind("Name:", 0) == 0);
  CHECK(whole->find("VmPeak:") != std::string::npos); // Well past the first 64 bytes.
  auto capped = read_file_capped("/proc/self/status", 64);
  REQUIRE_FALSE(capped);
  CHECK(describe(capped.error()).find("grew beyond the limit of 64") != std::string::npos);

  temp_dir dir;
  std::string text(100000, 'x');
  sf::test::write_file(dir / "big", text);
  auto big = read_file_capped(dir / "big", 100000);
  REQUIRE(big);
  CHECK(*big == text);
}

TEST_CASE("open_regular refuses a link, a FIFO and a folder at once, naming each and the fix",
          "[io][safe_file][runtime_files]") {
  temp_dir dir;
  sf::test::write_file(dir / "target", "outside\n");
  REQUIRE(::symlink((dir / "target").c_str(), (dir / "link").c_str()) == 0);
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  std::filesystem::create_directories(dir / "folder");
  struct expectation {
    const char* name;
    const char* what;
    const char* rm;
  };
  for (auto e : {expectation{"link", "is a symbolic link, not a regular file", "`rm "},
                 expectation{"fifo", "is a FIFO, not a regular file", "`rm "},
                 expectation{"folder", "is a folder, not a regular file", "`rm -r "}}) {
    // Every mode a runtime file is opened in; none may follow, block or create.
    for (int flags : {O_RDONLY, O_RDWR | O_CREAT, O_WRONLY | O_CREAT | O_APPEND,
                      O_WRONLY | O_CREAT | O_TRUNC}) {
      INFO(e.name << " with flags " << flags);
      auto fd = open_regular(dir / e.name, flags, 0600);
      REQUIRE_FALSE(fd);
      CHECK(code_of(fd.error()) == ec::unsafe_path);
      auto text = describe(fd.error());
      CHECK(text.find(dir / e.name) != std::string::npos);
      CHECK(text.find(e.what) != std::string::npos);
      CHECK(text.find(std::string(e.rm) + (dir / e.name) + "`") != std::string::npos);
      CHECK(text.find('\n') == std::string::npos);
    }
  }
  CHECK(sf::test::read_file(dir / "target") == "outside\n");
  CHECK(sf::test::list_dir(dir.path()) ==
        std::vector<std::string>{"fifo", "folder", "link", "target"});
}

TEST_CASE("open_regular opens a regular file for blocking I/O and truncates only after the "
          "check", "[io][safe_file][runtime_files]") {
  temp_dir dir;
  sf::test::write_file(dir / "log", "old\n");
  auto fd = open_regular(dir / "log", O_WRONLY | O_APPEND);
  REQUIRE(fd);
  int fl = ::fcntl(fd->get(), F_GETFL);
  CHECK((fl & O_NONBLOCK) == 0);
  CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(::write(fd->get(), "new\n", 4) == 4);
  fd->reset();
  CHECK(sf::test::read_file(dir / "log") == "old\nnew\n");
  auto trunc = open_regular(dir / "log", O_WRONLY | O_TRUNC);
  REQUIRE(trunc);
  trunc->reset();
  CHECK(sf::test::read_file(dir / "log") == "");
  auto missing = open_regular(dir / "none", O_RDONLY);
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == ec::not_found);
  auto created = open_regular(dir / "new", O_WRONLY | O_CREAT | O_EXCL, 0640);
  REQUIRE(created);
  CHECK(sf::test::mode_of(dir / "new") == 0640);
}
