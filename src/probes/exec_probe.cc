#include "probes/exec_probe.h"

#include "os/child_process.h"

namespace watchd {
namespace {

// The Check cancels a run at `timeout`; this only guards against a child
// outliving a Check that failed to.
constexpr Duration kBackstopSlack = std::chrono::seconds(5);

ProbeResult ToProbeResult(const ChildResult& r) {
  switch (r.kind) {
    case ChildResult::kExited: {
      if (r.exit_code == 0) return ProbeResult::Success(r.Describe());
      std::string line = FirstLine(r.output);
      return ProbeResult::Failure(line.empty() ? r.Describe()
                                               : r.Describe() + ": " + line);
    }
    case ChildResult::kSignaled:
      return ProbeResult::Failure(r.Describe());
    case ChildResult::kTimedOut:
      return {ProbeOutcome::kTimeout, r.Describe()};
    case ChildResult::kSpawnFailed:
      return ProbeResult::Error(r.Describe());
  }
  return ProbeResult::Error(r.Describe());
}

}  // namespace

ExecProbe::ExecProbe(const ExecProbeConfig& config, EventLoop* loop)
    : config_(config), loop_(loop) {}

ExecProbe::~ExecProbe() = default;

void ExecProbe::Start(Duration timeout, DoneCallback done) {
  done_ = std::move(done);
  child_ = ChildProcess::Spawn(
      loop_, config_.argv, timeout + kBackstopSlack,
      [this](const ChildResult& result) { OnExit(result); });
}

void ExecProbe::Cancel() {
  child_.reset();
  done_ = nullptr;
}

void ExecProbe::OnExit(const ChildResult& result) {
  ProbeResult probe_result = ToProbeResult(result);
  // Locals first: `done` may start the next run or destroy this probe.
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  std::unique_ptr<ChildProcess> finished = std::move(child_);
  done(std::move(probe_result));
}

std::string FirstLine(const std::string& output, size_t max_len) {
  size_t begin = 0;
  std::string line;
  while (begin < output.size()) {
    size_t end = output.find('\n', begin);
    if (end == std::string::npos) end = output.size();
    line = output.substr(begin, end - begin);
    for (char& c : line) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos) {
      line = line.substr(first, line.find_last_not_of(' ') - first + 1);
      break;
    }
    line.clear();
    begin = end + 1;
  }
  if (line.size() <= max_len) return line;
  size_t cut = max_len;
  // Back off UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return line.substr(0, cut) + "...";
}

}  // namespace watchd
