// The webhook's JSON body: one object per notification, an array of them
// for a digest (schema in docs/notifications.md).
#ifndef WATCHD_NOTIFY_WEBHOOK_JSON_H_
#define WATCHD_NOTIFY_WEBHOOK_JSON_H_

#include <string>
#include <vector>

#include "notify/notification.h"

namespace watchd {

// `batch` is not empty: one notification is an object, more an array.
std::string WebhookBody(const std::vector<Notification>& batch);

}  // namespace watchd

#endif  // WATCHD_NOTIFY_WEBHOOK_JSON_H_
