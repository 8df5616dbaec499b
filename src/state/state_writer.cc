#include "state/state_writer.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "core/event_loop.h"

namespace watchd {

StateWriter::StateWriter(const StateFile* file, EventLoop* loop,
                         Duration interval, Snapshot snapshot)
    : file_(file),
      loop_(loop),
      interval_(interval),
      snapshot_(std::move(snapshot)),
      timer_([this] { HandOver(); }),
      worker_([this] { Work(); }) {}

StateWriter::~StateWriter() { StopWorker(); }

void StateWriter::MarkDirty() {
  // A pending timer already covers this change: it takes its snapshot
  // when it fires.
  if (closed_ || timer_.pending()) return;
  loop_->ScheduleAfter(&timer_, interval_);
}

void StateWriter::HandOver() {
  Text text = snapshot_();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A snapshot the worker has not started on is stale now: only the
    // newest is worth its fsyncs.
    handed_ = std::move(text);
  }
  wake_.notify_one();
}

void StateWriter::Work() {
  std::optional<std::string> retry;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto ready = [this] { return handed_.has_value() || stopping_; };
    if (retry) {
      wake_.wait_for(lock, interval_, ready);
    } else {
      wake_.wait(lock, ready);
    }
    std::optional<Text> made = std::exchange(handed_, std::nullopt);
    if (!made && stopping_) return;
    lock.unlock();
    // Without a newer snapshot, the wait for one timed out: the old text
    // again.
    std::optional<std::string> text =
        made ? std::optional<std::string>((*made)()) : std::move(retry);
    made.reset();
    retry.reset();
    Status status = file_->Save(*text);
    Note(status);
    lock.lock();
    if (!status.ok()) retry = std::move(text);
  }
}

void StateWriter::Note(const Status& status) {
  if (status.ok()) {
    saves_.fetch_add(1);
    if (!last_error_.empty()) {
      spdlog::info("state file {} saved again", file_->path());
      last_error_.clear();
    }
  } else if (status.message() != last_error_) {
    // A full disk fails every second: one line, not one per try.
    spdlog::warn("{}; trying again every {}", status.message(),
                 FormatDuration(interval_));
    last_error_ = status.message();
  }
}

void StateWriter::StopWorker() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  worker_.join();
}

Status StateWriter::Close() {
  closed_ = true;
  loop_->Cancel(&timer_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    handed_.reset();  // the final snapshot below supersedes it
  }
  StopWorker();
  Status status = file_->Save(snapshot_()());
  if (status.ok()) saves_.fetch_add(1);
  return status;
}

}  // namespace watchd
