// The `exec` probe: runs an argv (never a shell); exit 0 passes. `done`
// runs on the loop, never inside Start; the probe is not touched after it,
// so it may start the next run, cancel or destroy the probe.
#ifndef WATCHD_PROBES_EXEC_PROBE_H_
#define WATCHD_PROBES_EXEC_PROBE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "config/config.h"
#include "probes/probe.h"

namespace watchd {

class ChildProcess;
class EventLoop;
struct ChildResult;

class ExecProbe : public Probe {
 public:
  ExecProbe(const ExecProbeConfig& config, EventLoop* loop);
  ~ExecProbe() override;

  // exit 0: success "exit 0"; other exits: failure "exit 3: <first line of
  // output>"; a signal: failure "killed by signal 9"; exec failure: error.
  void Start(Duration timeout, DoneCallback done) override;
  // SIGKILLs the child's process group; it is reaped in the background.
  void Cancel() override;

 private:
  void OnExit(const ChildResult& result);

  ExecProbeConfig config_;
  EventLoop* loop_;
  DoneCallback done_;
  std::unique_ptr<ChildProcess> child_;
};

// The first non-blank line of `output`, control characters blanked, cut to
// about `max_len` bytes (on a UTF-8 boundary, "..." appended when cut).
std::string FirstLine(const std::string& output, size_t max_len = 80);

}  // namespace watchd

#endif  // WATCHD_PROBES_EXEC_PROBE_H_
