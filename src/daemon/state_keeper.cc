#include "daemon/state_keeper.h"

#include <spdlog/spdlog.h>

#include "core/event_loop.h"
#include "health/service.h"
#include "state/boot_id.h"

namespace watchd {
namespace {

ClockReading ReadClocks(const EventLoop& loop) {
  return {loop.Now(), std::chrono::system_clock::now()};
}

}  // namespace

StateKeeper::StateKeeper(const std::string& path, EventLoop* loop,
                         const std::vector<std::unique_ptr<Service>>* services)
    : loop_(loop),
      services_(services),
      file_(path),
      writer_(&file_, loop, kSaveInterval, [this] { return Snapshot(); }) {
  Result<std::string> boot_id = ReadBootId();
  if (boot_id.ok()) {
    boot_id_ = *boot_id;
  } else {
    spdlog::warn("{}: processes are not recorded in the state file",
                 boot_id.status().message());
  }
}

void StateKeeper::Restore() {
  const ClockReading clocks = ReadClocks(*loop_);
  // Load logs a bad file (and where it went) itself.
  StateFile::Loaded loaded = file_.Load(clocks.wall);
  if (loaded.state) {
    size_t restored = 0;
    std::string paused;
    for (const auto& service : *services_) {
      auto it = loaded.state->services.find(service->name());
      if (it == loaded.state->services.end()) continue;
      service->RestoreState(it->second, clocks, boot_id_);
      ++restored;
      if (it->second.paused) {
        paused += (paused.empty() ? "" : ", ") + service->name();
      }
    }
    spdlog::info("restored the state of {} of {} services from {}{}", restored,
                 services_->size(), file_.path(),
                 paused.empty() ? "" : " (paused: " + paused + ")");
  }
  for (const auto& service : *services_) Track(service.get());
  // A first save soon, whatever happens next: it drops services no longer
  // configured, replaces a file set aside, and shows at once whether the
  // directory can be written.
  writer_.MarkDirty();
}

void StateKeeper::Track(Service* service) {
  service->set_on_persistent_change([this] { writer_.MarkDirty(); });
}

void StateKeeper::Close() {
  Status saved = writer_.Close();
  if (!saved.ok()) spdlog::error("{}", saved.message());
}

StateWriter::Text StateKeeper::Snapshot() const {
  const ClockReading clocks = ReadClocks(*loop_);
  auto state = std::make_shared<SavedState>();
  for (const auto& service : *services_) {
    state->services.emplace(service->name(),
                            service->SaveState(clocks, boot_id_));
  }
  // Serialized, and freed, on the writer's thread.
  return [state] { return SerializeState(*state); };
}

}  // namespace watchd
