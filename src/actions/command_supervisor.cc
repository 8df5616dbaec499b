#include "actions/command_supervisor.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "actions/argv_template.h"
#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "os/child_process.h"

namespace watchd {
namespace {

// Enough of a line to say what went wrong, short enough for a status line.
constexpr size_t kMaxReasonLine = 200;

std::string FirstLine(const std::string& output) {
  size_t begin = 0;
  while (begin < output.size()) {
    size_t end = output.find('\n', begin);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(begin, end - begin);
    while (!line.empty() && isspace(static_cast<unsigned char>(line.back()))) {
      line.pop_back();
    }
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos) {
      line.erase(0, first);
      if (line.size() > kMaxReasonLine) line.resize(kMaxReasonLine);
      return line;
    }
    begin = end + 1;
  }
  return "";
}

class ChildCall final : public SupervisorCall {
 public:
  explicit ChildCall(std::unique_ptr<ChildProcess> child)
      : child_(std::move(child)) {}

 private:
  std::unique_ptr<ChildProcess> child_;
};

class LaterCall final : public SupervisorCall {
 public:
  LaterCall(EventLoop* loop, std::function<void()> done)
      : done_(std::move(done)) {
    timer_.set_callback([this] {
      // A local: `done` may destroy this call.
      std::function<void()> done = std::move(done_);
      done();
    });
    loop->ScheduleAfter(&timer_, Duration::zero());
  }

 private:
  std::function<void()> done_;
  Timer timer_;  // destroying it cancels it
};

class CommandSupervisor final : public Supervisor {
 public:
  CommandSupervisor(const SupervisorConfig& config, EventLoop* loop)
      : loop_(loop),
        restart_(config.restart),
        start_(config.start),
        timeout_(config.timeout) {}

  std::unique_ptr<SupervisorCall> Restart(const ProgramRef& program,
                                          Done done) override {
    return Run("restart command", restart_, program, std::move(done));
  }

  std::unique_ptr<SupervisorCall> Start(const ProgramRef& program,
                                        Done done) override {
    if (start_.empty()) {
      return Run("restart command", restart_, program, std::move(done));
    }
    return Run("start command", start_, program, std::move(done));
  }

  std::unique_ptr<SupervisorCall> Recover(const ProgramRef&,
                                          Done done) override {
    return CompleteLater(loop_, [done = std::move(done)] {
      done(Status::Error("the command supervisor has no give-up to clear"));
    });
  }

  std::unique_ptr<SupervisorCall> GetStatusReply(
      const ProgramRef&, StatusReplyDone done) override {
    return CompleteLater(loop_, [done = std::move(done)] {
      done(StatusReply{Status::Error(
          "the command supervisor cannot report pids; give the service a "
          "pidfile")});
    });
  }

  bool reports_pid() const override { return false; }

 private:
  std::unique_ptr<SupervisorCall> Run(const std::string& label,
                                      const std::vector<std::string>& tmpl,
                                      const ProgramRef& program, Done done) {
    std::map<std::string, std::string> vars = {{"program", program.program},
                                               {"service", program.service}};
    if (program.pid > 0) {
      vars["pid"] = std::to_string(program.pid);
    } else if (std::find(tmpl.begin(), tmpl.end(), "{pid}") != tmpl.end()) {
      // Running it with a made-up pid could signal the wrong process.
      std::string name =
          program.service.empty() ? program.program : program.service;
      return CompleteLater(loop_, [done = std::move(done), label, name] {
        done(Status::Error(label + " needs {pid}, but '" + name +
                           "' has no process"));
      });
    }
    return RunChildCall(
        loop_, SubstituteArgs(tmpl, vars), timeout_,
        [done = std::move(done), label](const ChildResult& result) {
          if (result.success()) {
            done(Status::Ok());
            return;
          }
          const char* sep =
              result.kind == ChildResult::kSpawnFailed ? ": " : " ";
          done(Status::Error(label + sep + DescribeChildFailure(result)));
        });
  }

  EventLoop* loop_;
  std::vector<std::string> restart_;
  std::vector<std::string> start_;
  Duration timeout_;
};

}  // namespace

Result<std::unique_ptr<Supervisor>> MakeCommandSupervisor(
    const SupervisorConfig& config, EventLoop* loop) {
  if (config.restart.empty()) {
    return Status::Error("type command needs a 'restart' command");
  }
  return std::unique_ptr<Supervisor>(new CommandSupervisor(config, loop));
}

std::unique_ptr<SupervisorCall> RunChildCall(
    EventLoop* loop, const std::vector<std::string>& argv, Duration timeout,
    std::function<void(const ChildResult&)> done, const SpawnOptions& options) {
  return std::make_unique<ChildCall>(
      ChildProcess::Spawn(loop, argv, timeout, std::move(done), options));
}

std::unique_ptr<SupervisorCall> CompleteLater(EventLoop* loop,
                                              std::function<void()> done) {
  return std::make_unique<LaterCall>(loop, std::move(done));
}

std::string DescribeChildFailure(const ChildResult& result) {
  std::string reason = result.Describe();
  if (result.kind == ChildResult::kExited) {
    std::string line = FirstLine(result.output);
    if (!line.empty()) reason += ": " + line;
  }
  return reason;
}

}  // namespace watchd
