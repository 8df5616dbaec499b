// The daemon's side of the control protocol: answers status, summary,
// version, restart, pause, resume, reload and ping for the services it is
// given, and refuses acting commands to anyone but root and watchd's uid.
#ifndef WATCHD_DAEMON_CONTROL_COMMANDS_H_
#define WATCHD_DAEMON_CONTROL_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "control/control_server.h"
#include "core/clock.h"

namespace watchd {

class EventLoop;
class Service;

class ControlCommands {
 public:
  struct Context {
    EventLoop* loop = nullptr;
    // Read at every request: a reload may replace them.
    const std::vector<std::unique_ptr<Service>>* services = nullptr;
    // Changes whenever a Service object may have been destroyed: a status
    // written across passes of the loop looks the rest up again then.
    const uint64_t* services_generation = nullptr;
    const std::map<std::string, SupervisorConfig>* supervisors = nullptr;
    std::string config_path;
    // Answers `reload` (ok, or every error); absent: reload is refused.
    std::function<void(ControlServer::Responder)> reload;
  };

  explicit ControlCommands(Context context);

  // A ControlServer::Handler.
  void Handle(const ControlPeer& peer, const std::string& line,
              ControlServer::Responder responder);

 private:
  struct Selection;
  // The services a request names ("services": names or globs, "all"); an
  // error reply when it names one that does not exist. `empty_is_all`
  // for the read commands.
  bool Select(const nlohmann::json& args, bool empty_is_all, Selection* out,
              std::string* error) const;
  // status and summary: written kServicesPerSlice services per pass of the
  // loop, so that 10,000 of them do not hold the probes up ~17 ms at once.
  struct Describing;
  static constexpr size_t kServicesPerSlice = 250;
  void Describe(const nlohmann::json& args, bool summary,
                ControlServer::Responder responder) const;
  void WriteSlice(const std::shared_ptr<Describing>& job) const;
  std::string Version() const;
  std::string PauseOrResume(const nlohmann::json& args, bool pause,
                            const std::string& who);
  void Restart(const nlohmann::json& args, const std::string& who,
               ControlServer::Responder responder);

  Context context_;
  // Held by the slices still to be written, which stop when it is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  TimePoint started_;
  std::chrono::system_clock::time_point started_wall_;
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_CONTROL_COMMANDS_H_
