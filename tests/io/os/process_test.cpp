#include "io/os/process.hpp"
#include "messages/error.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>

using namespace sf::io;
using sf::test::eventually;
using sf::test::read_file;
using sf::test::temp_dir;
using sf::test::write_file;

namespace {

const std::vector<std::string> base_env = {"PATH=/usr/bin:/bin"};

/// Waits up to `ms` for an fd to become readable.
bool readable_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, ms);
  } while (rc < 0 && errno == EINTR);
  return rc == 1 && (p.revents & POLLIN);
}

/// Waits (on the pidfd, 5 s deadline) for the child to exit and reaps it.
int wait_exit(child_process& c) {
  REQUIRE(readable_within(c.pidfd(), 5000));
  int status = 0;
  REQUIRE(c.try_reap(status));
  return status;
}

/// Pids whose parent is this test process (from /proc).
std::set<int> my_children() {
  std::set<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string stat;
    try {
      stat = read_file(e.path().string() + "/stat");
    } catch (...) {
      continue;
    }
    auto close = stat.rfind(')');
    if (close == std::string::npos)
      continue;
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 &&
        ppid == ::getpid())
      out.insert(std::stoi(name));
  }
  return out;
}

child_process spawn_ok(const spawn_request& req) {
  auto c = spawn_process(req);
  if (!c)
    FAIL("spawn failed: " << sf::describe(c.error()));
  return std::move(*c);
}

} // namespace

TEST_CASE("spawned child logs both streams and reports its exit code", "[proc]") {
  temp_dir d;
  auto c = spawn_ok({{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, d.path(), base_env,
                     d / "log"});
  CHECK(c.pid() > 0);
  CHECK(c.start_time() > 0);
  auto status = wait_exit(c);
  CHECK(describe_exit(status) == "exited with code 3");
  CHECK(read_file(d / "log") == "out\nerr\n");
  // Reaping twice gives the same answer.
  int again = 0;
  CHECK(c.try_reap(again));
  CHECK(again == status);
}

TEST_CASE("log is appended to, never truncated, by a new spawn", "[proc]") {
  temp_dir d;
  write_file(d / "log", "old\n");
  auto c = spawn_ok({{"echo", "new"}, d.path(), base_env, d / "log"});
  CHECK(describe_exit(wait_exit(c)) == "exited with code 0");
  CHECK(read_file(d / "log") == "old\nnew\n");
}

TEST_CASE("child gets exactly the requested cwd and environment", "[proc]") {
  temp_dir d;
  std::filesystem::create_directories(d / "work");
  ::setenv("SF_PROC_TEST_LEAK_MARKER", "leaked", 1);
  auto c = spawn_ok({{"/bin/sh", "-c", "pwd; env"}, d / "work",
                     {"PATH=/usr/bin:/bin", "SF_TOKEN=abc 123"}, d / "log"});
  ::unsetenv("SF_PROC_TEST_LEAK_MARKER");
  CHECK(describe_exit(wait_exit(c)) == "exited with code 0");
  auto log = read_file(d / "log");
  CHECK(log.rfind(d / "work" + "\n", 0) == 0);
  CHECK(log.find("SF_TOKEN=abc 123\n") != std::string::npos);
  CHECK(log.find("SF_PROC_TEST_LEAK_MARKER") == std::string::npos);
}

TEST_CASE("child runs in its own process group with only fds 0-2", "[proc]") {
  temp_dir d;
  int leaky = ::open("/dev/null", O_RDONLY); // deliberately without O_CLOEXEC
  REQUIRE(leaky >= 0);
  auto c = spawn_ok({{"sleep", "100"}, d.path(), base_env, d / "log"});
  ::close(leaky);
  CHECK(::getpgid(c.pid()) == c.pid());
  // posix_spawn returns once the child's exec has begun, and the kernel closes close-on-exec
  // descriptors a little later in that exec: a leak is a set that never comes down to 0-2.
  std::set<std::string> fds;
  CHECK(eventually([&] {
    fds.clear();
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(c.pid()) + "/fd"))
      fds.insert(e.path().filename().string());
    return fds == std::set<std::string>{"0", "1", "2"};
  }));
  CHECK(fds == std::set<std::string>{"0", "1", "2"}); // On a failure: what stayed open.
  REQUIRE_FALSE(c.signal(SIGKILL));
  CHECK(describe_exit(wait_exit(c)) == "killed by SIGKILL");
}

TEST_CASE("blocked or ignored SIGTERM in the parent is not inherited", "[proc]") {
  temp_dir d;
  SECTION("blocked in the spawning thread") {
    caf::expected<child_process> c{caf::error{}};
    std::thread t([&] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGTERM);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
      c = spawn_process({{"sleep", "100"}, d.path(), base_env, d / "log"});
    });
    t.join();
    REQUIRE(c);
    REQUIRE_FALSE(c->signal(SIGTERM));
    CHECK(describe_exit(wait_exit(*c)) == "killed by SIGTERM");
  }
  SECTION("ignored in the whole process") {
    struct sigaction ign {}, old{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &ign, &old);
    auto c = spawn_process({{"sleep", "100"}, d.path(), base_env, d / "log"});
    sigaction(SIGTERM, &old, nullptr);
    REQUIRE(c);
    REQUIRE_FALSE(c->signal(SIGTERM));
    CHECK(describe_exit(wait_exit(*c)) == "killed by SIGTERM");
  }
}

TEST_CASE("SIGKILL makes the pidfd readable and signals are refused after reaping", "[proc]") {
  temp_dir d;
  auto c = spawn_ok({{"sleep", "100"}, d.path(), base_env, d / "log"});
  CHECK_FALSE(readable_within(c.pidfd(), 0));
  int status = 0;
  CHECK_FALSE(c.try_reap(status));
  REQUIRE_FALSE(c.signal(SIGKILL));
  CHECK(describe_exit(wait_exit(c)) == "killed by SIGKILL");
  CHECK(c.reaped());
  CHECK(sf::code_of(c.signal(SIGTERM)) == sf::ec::process_error);
  CHECK(sf::code_of(c.signal_group(SIGTERM)) == sf::ec::process_error);
}

TEST_CASE("signal_group reaches a grandchild in the same group", "[proc]") {
  temp_dir d;
  auto c = spawn_ok({{"/bin/sh", "-c", "sleep 100 & echo $!; wait"}, d.path(), base_env,
                     d / "log"});
  REQUIRE(eventually([&] { return read_file(d / "log").find('\n') != std::string::npos; }));
  int grandchild = std::stoi(read_file(d / "log"));
  REQUIRE(grandchild > 0);
  CHECK(::getpgid(grandchild) == c.pid());
  sf::io::unique_fd gfd{static_cast<int>(::syscall(SYS_pidfd_open, grandchild, 0))};
  REQUIRE(gfd);
  REQUIRE_FALSE(c.signal_group(SIGKILL));
  CHECK(readable_within(gfd.get(), 5000));
  CHECK(describe_exit(wait_exit(c)) == "killed by SIGKILL");
  CHECK(sf::code_of(c.signal_group(SIGKILL)) == sf::ec::process_error);
}

TEST_CASE("unrunnable programs are errors and leave no child", "[proc]") {
  temp_dir d;
  write_file(d / "tool", "#!/bin/sh\necho hi\n");
  ::chmod((d / "tool").c_str(), 0644);
  auto before = my_children();
  SECTION("missing from PATH") {
    auto c = spawn_process({{"sf-no-such-program-x1"}, d.path(), base_env, d / "log"});
    REQUIRE_FALSE(c);
    CHECK(sf::describe(c.error()).find("not found in PATH") != std::string::npos);
  }
  SECTION("in PATH but not executable") {
    auto c = spawn_process({{"tool"}, d.path(), {"PATH=" + d.path()}, d / "log"});
    REQUIRE_FALSE(c);
    CHECK(sf::describe(c.error()).find("not executable") != std::string::npos);
  }
  SECTION("path to a non-executable file (exec fails inside posix_spawn)") {
    auto c = spawn_process({{d / "tool"}, d.path(), base_env, d / "log"});
    REQUIRE_FALSE(c);
    CHECK(sf::code_of(c.error()) == sf::ec::process_error);
    CHECK(sf::describe(c.error()).find("Permission denied") != std::string::npos);
  }
  SECTION("missing absolute path") {
    auto c = spawn_process({{d / "nope"}, d.path(), base_env, d / "log"});
    REQUIRE_FALSE(c);
  }
  SECTION("missing working folder") {
    auto c = spawn_process({{"true"}, d / "nope", base_env, d / "log"});
    REQUIRE_FALSE(c);
    CHECK(sf::describe(c.error()).find("working folder") != std::string::npos);
  }
  SECTION("empty argv") {
    auto c = spawn_process({{}, d.path(), base_env, d / "log"});
    REQUIRE_FALSE(c);
  }
  CHECK(my_children() == before);
}

TEST_CASE("parse_proc_stat splits at the last parenthesis", "[proc]") {
  std::string tail;
  for (int field = 4; field <= 52; ++field)
    tail += " " + std::to_string(field == 22 ? 987654 : field);
  auto st = parse_proc_stat("42 (a) b) c) R" + tail + "\n");
  REQUIRE(st);
  CHECK(st->state == 'R');
  CHECK(st->ppid == 4);
  CHECK(st->start_time == 987654u);
  CHECK_FALSE(parse_proc_stat("42 no paren"));
  CHECK_FALSE(parse_proc_stat("42 (x) S 1 2 3"));
}

TEST_CASE("identity matches only the live incarnation", "[proc]") {
  temp_dir d;
  auto c = spawn_ok({{"sleep", "100"}, d.path(), {"PATH=/usr/bin:/bin", "SF_TOKEN=t0k"},
                     d / "log"});
  auto id = read_identity(c.pid());
  REQUIRE(id);
  CHECK(id->pid == c.pid());
  CHECK(id->start_time == c.start_time());
  CHECK(id->boot_id.size() == 36);
  CHECK(identity_matches(*id));
  auto wrong_boot = *id;
  wrong_boot.boot_id[0] = wrong_boot.boot_id[0] == 'a' ? 'b' : 'a';
  CHECK_FALSE(identity_matches(wrong_boot));
  auto wrong_start = *id;
  wrong_start.start_time += 1;
  CHECK_FALSE(identity_matches(wrong_start));
  // Right after posix_spawn the kernel may not have filled environ in yet.
  REQUIRE(eventually([&] {
    auto v = read_environ_value(c.pid(), "SF_TOKEN");
    return v || sf::code_of(v.error()) != sf::ec::unavailable;
  }));
  auto token = read_environ_value(c.pid(), "SF_TOKEN");
  REQUIRE(token);
  CHECK(*token == "t0k");
  auto missing = read_environ_value(c.pid(), "SF_TOK");
  REQUIRE_FALSE(missing);
  CHECK(sf::code_of(missing.error()) == sf::ec::not_found);

  REQUIRE_FALSE(c.signal(SIGKILL));
  // Exited but not reaped: a zombie is not the live worker.
  REQUIRE(readable_within(c.pidfd(), 5000));
  auto st = read_proc_stat(c.pid());
  REQUIRE(st);
  CHECK(st->state == 'Z');
  CHECK_FALSE(identity_matches(*id));
  wait_exit(c);
  CHECK_FALSE(identity_matches(*id));
  auto after = read_identity(c.pid());
  CHECK_FALSE((after && after->start_time == id->start_time));
}

TEST_CASE("the /proc reader tells a live child's parent, name, folder and environment",
          "[proc]") {
  temp_dir d;
  auto c = spawn_ok({{"sleep", "100"}, d.path(), {"PATH=/usr/bin:/bin", "SF_A=1", "SF_A=2"},
                     d / "log"});
  // Right after posix_spawn the child may still be inside exec: its environment (filled in
  // with its arguments, after its new name) reads empty until exec is done.
  REQUIRE(eventually([&] {
    auto env = read_environ(c.pid());
    return env || sf::code_of(env.error()) != sf::ec::unavailable;
  }));
  auto st = read_proc_stat(c.pid());
  REQUIRE(st);
  CHECK(st->ppid == ::getpid());
  CHECK(proc_alive(c.pid()));
  CHECK(read_comm(c.pid()) == "sleep");
  CHECK(std::filesystem::path(read_argv0(c.pid())).filename() == "sleep");
  CHECK(std::filesystem::equivalent(read_cwd(c.pid()), d.path()));
  auto pids = all_pids();
  CHECK(std::binary_search(pids.begin(), pids.end(), static_cast<int64_t>(c.pid())));
  CHECK(std::binary_search(pids.begin(), pids.end(), static_cast<int64_t>(::getpid())));
  auto env = read_environ(c.pid());
  REQUIRE(env);
  CHECK(env->at("PATH") == "/usr/bin:/bin");
  CHECK(env->at("SF_A") == "1"); // The first of two, as getenv sees it.
  CHECK(std::filesystem::path(self_exe()).filename() == "sf_tests");
  REQUIRE_FALSE(c.signal(SIGKILL));
  REQUIRE(readable_within(c.pidfd(), 5000));
  CHECK_FALSE(proc_alive(c.pid())); // A zombie is not alive.
  wait_exit(c);
  CHECK(read_comm(c.pid()).empty());
  CHECK(read_cwd(c.pid()).empty());
  auto gone = read_environ(c.pid());
  REQUIRE_FALSE(gone);
  CHECK(sf::code_of(gone.error()) == sf::ec::not_found);
}

TEST_CASE("identity survives a comm with spaces and parentheses", "[proc]") {
  temp_dir d;
  auto odd = d / "a) b";
  std::filesystem::copy_file("/bin/sleep", odd);
  ::chmod(odd.c_str(), 0755);
  auto c = spawn_ok({{odd, "100"}, d.path(), base_env, d / "log"});
  // comm changes to the new program's name late in exec, after posix_spawn returned.
  auto stat_path = "/proc/" + std::to_string(c.pid()) + "/stat";
  CHECK(eventually([&] { return read_file(stat_path).find("(a) b)") != std::string::npos; }));
  auto id = read_identity(c.pid());
  REQUIRE(id);
  CHECK(id->start_time == c.start_time());
  CHECK(identity_matches(*id));
  REQUIRE_FALSE(c.signal(SIGKILL));
  wait_exit(c);
}

TEST_CASE("cap_log keeps the last half in .1 and empties the log", "[proc]") {
  temp_dir d;
  auto log = d / "w.log";
  std::string text;
  for (int i = 0; i < 100; ++i)
    text += "line " + std::to_string(1000 + i) + "\n"; // 10 bytes each
  // A writer with O_APPEND, as the child has, keeps writing at the new end.
  sf::io::unique_fd w{::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)};
  REQUIRE(::write(w.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));

  REQUIRE_FALSE(cap_log(log, 1000)); // exactly at the limit: untouched
  CHECK(read_file(log) == text);
  CHECK_FALSE(std::filesystem::exists(log + ".1"));

  REQUIRE_FALSE(cap_log(log, 400));
  CHECK(read_file(log).empty());
  CHECK(read_file(log + ".1") == text.substr(text.size() - 200));
  REQUIRE(::write(w.get(), "x\n", 2) == 2);
  CHECK(read_file(log) == "x\n");

  // A second rotation replaces the first copy.
  std::string more(500, 'y');
  REQUIRE(::write(w.get(), more.data(), more.size()) == 500);
  REQUIRE_FALSE(cap_log(log, 100));
  CHECK(read_file(log + ".1") == std::string(50, 'y'));
  CHECK_FALSE(cap_log(d / "absent.log", 10));
}

TEST_CASE("tail_lines returns the last lines", "[proc]") {
  temp_dir d;
  write_file(d / "a", "one\ntwo\nthree\n");
  CHECK(tail_lines(d / "a", 2) == "two\nthree\n");
  CHECK(tail_lines(d / "a", 1) == "three\n");
  CHECK(tail_lines(d / "a", 10) == "one\ntwo\nthree\n");
  CHECK(tail_lines(d / "a", 0).empty());
  write_file(d / "b", "one\ntwo");
  CHECK(tail_lines(d / "b", 1) == "two");
  CHECK(tail_lines(d / "missing", 3).empty());
  std::string big;
  for (int i = 0; i < 20000; ++i)
    big += "row " + std::to_string(i) + "\n";
  write_file(d / "big", big);
  CHECK(tail_lines(d / "big", 2) == "row 19998\nrow 19999\n");
}

TEST_CASE("tail_lines takes the lines before a rotation from the rotated copy", "[proc]") {
  temp_dir d;
  write_file(d / "w.log.1", "one\ntwo\nthree");
  write_file(d / "w.log", "four\n");
  CHECK(tail_lines(d / "w.log", 1) == "four\n");
  CHECK(tail_lines(d / "w.log", 3) == "two\nthree\nfour\n");
  write_file(d / "empty.log", "");
  write_file(d / "empty.log.1", "a\nb\n");
  CHECK(tail_lines(d / "empty.log", 5) == "a\nb\n");
}

TEST_CASE("describe_exit names codes and signals", "[proc]") {
  CHECK(describe_exit(0) == "exited with code 0");
  CHECK(describe_exit(3 << 8) == "exited with code 3");
  CHECK(describe_exit(SIGKILL) == "killed by SIGKILL");
  CHECK(describe_exit(SIGSEGV | 0x80) == "killed by SIGSEGV (core dumped)");
}
