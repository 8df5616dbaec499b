#include "notify/curl_sender.h"

#include <cctype>

#include "core/event_loop.h"
#include "net/curl_multi.h"

namespace watchd {

CurlSender::CurlSender(CurlMulti* curl) : curl_(curl) {
  timer_.set_callback([this] { OnTimer(); });
}

CurlSender::~CurlSender() {
  curl_->loop()->Cancel(&timer_);
  if (easy_ != nullptr) {
    curl_->Remove(easy_);
    curl_->Release(easy_);
  }
}

void CurlSender::Send(const std::vector<Notification>& batch, Done done) {
  done_ = std::move(done);
  error_[0] = '\0';
  CURL* easy = curl_->Acquire();
  if (easy == nullptr) {
    FailLater({Status::Error("out of memory"), /*retry=*/true});
    return;
  }
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_);
  // Receivers are named by their URL; http_proxy in watchd's environment
  // is not for them (and is not looked up per transfer).
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  // Messages are minutes apart: a kept connection would mostly be found
  // closed by the receiver.
  curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  Status configured = Configure(easy, batch);
  if (!configured.ok()) {
    curl_->Release(easy);
    FailLater({configured, /*retry=*/false});
    return;
  }
  Status added =
      curl_->Add(easy, [this](CURLcode code) { OnTransferDone(code); });
  if (!added.ok()) {
    curl_->Release(easy);
    FailLater({added, /*retry=*/true});
    return;
  }
  easy_ = easy;
}

std::string CurlSender::Error(CURLcode code) const {
  std::string detail = error_[0] != '\0' ? error_ : curl_easy_strerror(code);
  while (!detail.empty() &&
         isspace(static_cast<unsigned char>(detail.back()))) {
    detail.pop_back();
  }
  return detail;
}

void CurlSender::OnTransferDone(CURLcode code) {
  CURL* easy = easy_;
  easy_ = nullptr;
  Delivery delivery = Judge(easy, code);
  curl_->Release(easy);
  Finish(std::move(delivery));
}

void CurlSender::FailLater(Delivery delivery) {
  deferred_ = std::move(delivery);
  curl_->loop()->ScheduleAfter(&timer_, Duration::zero());
}

void CurlSender::OnTimer() {
  Delivery delivery = std::move(*deferred_);
  deferred_.reset();
  Finish(std::move(delivery));
}

void CurlSender::Finish(Delivery delivery) {
  Done done = std::move(done_);
  done_ = nullptr;
  done(std::move(delivery));
}

}  // namespace watchd
