#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/wait.h"

namespace watchd::testing {
namespace {

// environ with `extra` added, replacing variables of the same name, and
// `pid_variable` last with room for a pid.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra,
                                          const std::string& pid_variable) {
  auto name_of = [](const std::string& e) { return e.substr(0, e.find('=')); };
  std::vector<std::string> names;
  for (const auto& e : extra) names.push_back(name_of(e));
  if (!pid_variable.empty()) names.push_back(pid_variable);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::find(names.begin(), names.end(), name_of(*e)) == names.end()) {
      env.push_back(*e);
    }
  }
  env.insert(env.end(), extra.begin(), extra.end());
  if (!pid_variable.empty()) {
    env.push_back(pid_variable + "=" + std::string(20, '\0'));
  }
  return env;
}

// Writes pid in decimal at `out` (room for 20 digits); async-signal-safe.
void FormatPid(pid_t pid, char* out) {
  char digits[20];
  int n = 0;
  unsigned long v = static_cast<unsigned long>(pid);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

}  // namespace

Subprocess::~Subprocess() { Stop(); }

bool Subprocess::Start(const std::vector<std::string>& argv,
                       const std::string& log_path) {
  if (argv.empty() || pid_ > 0) return false;
  status_.reset();  // of an earlier, stopped run
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> env = ChildEnvironment(env_, pid_variable_);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* pid_value = pid_variable_.empty()
                        ? nullptr
                        : env.back().data() + pid_variable_.size() + 1;
  int log_fd = -1;
  if (!log_path.empty()) {
    log_fd =
        open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return false;
  }
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    // Own process group, so Stop() also reaches grandchildren.
    setpgid(0, 0);
    if (log_fd >= 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (pid_value != nullptr) FormatPid(getpid(), pid_value);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  pid_ = pid;
  status_.reset();
  return true;
}

bool Subprocess::running() {
  if (pid_ <= 0 || status_) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

bool Subprocess::Signal(int sig) {
  if (!running()) return false;
  return kill(pid_, sig) == 0;
}

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void Subprocess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  if (running()) {
    kill(-pid_, SIGCONT);
    kill(-pid_, SIGTERM);
    kill(pid_, SIGTERM);
    if (!Wait(grace)) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      Wait(std::chrono::milliseconds(10000));
    }
  }
  // Whatever of its group is left (servers' own children) goes too.
  kill(-pid_, SIGKILL);
  pid_ = -1;
}

std::string SourcePath(const std::string& relative) {
  return std::string(WATCHD_SOURCE_DIR) + "/" + relative;
}

std::string BinaryPath(const std::string& relative) {
  return std::string(WATCHD_BINARY_DIR) + "/" + relative;
}

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/watchd-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out);
}

bool ReplaceFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  return WriteFile(tmp, content) && rename(tmp.c_str(), path.c_str()) == 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool StartTestServer(Subprocess* server, const std::string& script,
                     const std::vector<std::string>& args,
                     const std::string& ready_file,
                     const std::string& log_path) {
  std::vector<std::string> argv = {"python3", SourcePath(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--ready-file");
  argv.push_back(ready_file);
  if (!server->Start(argv, log_path)) return false;
  return WaitFor([&] { return std::filesystem::exists(ready_file); },
                 std::chrono::milliseconds(15000));
}

}  // namespace watchd::testing
