#include "tests/support/supervisord_fixture.h"

#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "tests/support/wait.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kTagVariable[] = "WATCHD_TEST_SUPERVISORD";

// supervisord splits `command=` with shlex after expanding %(...)s.
std::string QuoteArg(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else if (c == '%') {
      out += "%%";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// One HTTP/1.0 exchange over the unix socket: the response body of a 200,
// or nullopt.
std::optional<std::string> PostRpc(const std::string& socket_path,
                                   const std::string& body) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  socket_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  std::string request =
      "POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: "
      "text/xml\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) reply.append(buf, n);
  }
  close(fd);
  size_t end = reply.find("\r\n\r\n");
  if (end == std::string::npos || reply.compare(0, 12, "HTTP/1.0 200") != 0) {
    return std::nullopt;
  }
  return reply.substr(end + 4);
}

// The text of the first <tag>...</tag> after the struct member `member`.
std::optional<std::string> MemberValue(const std::string& xml,
                                       const std::string& member,
                                       const std::string& tag) {
  size_t at = xml.find("<name>" + member + "</name>");
  if (at == std::string::npos) return std::nullopt;
  size_t begin = xml.find("<" + tag + ">", at);
  if (begin == std::string::npos) return std::nullopt;
  begin += tag.size() + 2;
  size_t end = xml.find("</" + tag + ">", begin);
  if (end == std::string::npos) return std::nullopt;
  return xml.substr(begin, end - begin);
}

}  // namespace

Supervisord::~Supervisord() {
  if (process_.running()) {
    // Stopped programs must be able to act on supervisord's SIGTERM, and
    // ones that ignore it would hold supervisord for their stopwaitsecs.
    KillTagged(SIGCONT);
    process_.Signal(SIGTERM);
    WaitFor(
        [&] {
          KillTagged(SIGKILL);
          return !process_.running();
        },
        seconds(30), milliseconds(100));
  }
  process_.Stop();
  KillTagged(SIGKILL);
}

void Supervisord::AddProgram(const std::string& name,
                             const std::vector<std::string>& command,
                             const std::string& extra,
                             const std::string& settled) {
  std::string line;
  for (const std::string& arg : command) {
    line += (line.empty() ? "" : " ") + QuoteArg(arg);
  }
  // Defaults that `extra` does not set itself.
  const bool own_startsecs = extra.find("startsecs=") != std::string::npos;
  programs_ += "[program:" + name + "]\ncommand=" + line +
               "\nautostart=true\nautorestart=true\n" +
               (own_startsecs ? "" : "startsecs=1\n") +
               "environment=" + kTagVariable + "=\"" + dir_.path() +
               "\"\nstdout_logfile=" + dir_.File(name + ".log") +
               "\nredirect_stderr=true\n" + extra + "\n";
  settled_.emplace_back(name, settled);
}

bool Supervisord::Start() {
  const std::string conf = dir_.File("supervisord.conf");
  std::string text = "[unix_http_server]\nfile=" + socket_path() +
                     "\n\n[supervisord]\nnodaemon=true\nlogfile=" +
                     dir_.File("supervisord.log") +
                     "\npidfile=" + dir_.File("supervisord.pid") +
                     "\nchildlogdir=" + dir_.path() +
                     "\nloglevel=info\n\n[rpcinterface:supervisor]\n"
                     "supervisor.rpcinterface_factory = "
                     "supervisor.rpcinterface:make_main_rpcinterface\n\n"
                     "[supervisorctl]\nserverurl=" +
                     url() + "\n\n" + programs_;
  if (!WriteFile(conf, text) ||
      !process_.Start({"/usr/bin/supervisord", "-n", "-c", conf},
                      dir_.File("supervisord.out"))) {
    return false;
  }
  return WaitFor(
             [&] {
               if (!process_.running()) return true;
               for (const auto& [name, state] : settled_) {
                 auto info = Info(name);
                 if (!info || info->state != state) return false;
               }
               return true;
             },
             seconds(60), milliseconds(100)) &&
         process_.running();
}

std::string Supervisord::Log() const {
  return ReadFile(dir_.File("supervisord.out")) +
         ReadFile(dir_.File("supervisord.log"));
}

std::optional<Supervisord::ProgramInfo> Supervisord::Info(
    const std::string& program) const {
  auto reply =
      PostRpc(socket_path(),
              "<?xml version=\"1.0\"?><methodCall><methodName>supervisor."
              "getProcessInfo</methodName><params><param><value><string>" +
                  program + "</string></value></param></params></methodCall>");
  if (!reply || reply->find("<fault>") != std::string::npos) {
    return std::nullopt;
  }
  auto state = MemberValue(*reply, "statename", "string");
  auto pid = MemberValue(*reply, "pid", "int");
  if (!state || !pid || pid->empty() ||
      !isdigit(static_cast<unsigned char>((*pid)[0]))) {
    return std::nullopt;
  }
  return ProgramInfo{*state, static_cast<pid_t>(std::atoi(pid->c_str()))};
}

pid_t Supervisord::Pid(const std::string& program) const {
  auto info = Info(program);
  return info ? info->pid : 0;
}

pid_t Supervisord::WaitForRunning(const std::string& program, pid_t old,
                                  std::chrono::milliseconds timeout) const {
  pid_t pid = 0;
  WaitFor(
      [&] {
        auto info = Info(program);
        pid = info && info->state == "RUNNING" && info->pid != old ? info->pid
                                                                   : 0;
        return pid > 0;
      },
      timeout, milliseconds(100));
  return pid;
}

int Supervisord::KillTagged(int sig) const {
  const std::string tag =
      std::string(kTagVariable) + "=" + dir_.path() + std::string(1, '\0');
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  int count = 0;
  while (dirent* entry = readdir(proc)) {
    if (!isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
    std::string environ =
        ReadFile(std::string("/proc/") + entry->d_name + "/environ");
    if (environ.find(tag) == std::string::npos) continue;
    if (kill(std::atoi(entry->d_name), sig) == 0) ++count;
  }
  closedir(proc);
  return count;
}

}  // namespace watchd::testing
