// Rendering of the user's mail templates with a notification's fields:
// {name} anywhere in the text. (Command argv take whole-argument
// placeholders only: command_sender.h.)
#ifndef WATCHD_NOTIFY_TEMPLATE_H_
#define WATCHD_NOTIFY_TEMPLATE_H_

#include <string>
#include <string_view>

#include "notify/notification.h"

namespace watchd {

// Replaces every {field} of kNotifyFields in `text`; other braces stay.
std::string RenderText(std::string_view text, const Notification& n);

}  // namespace watchd

#endif  // WATCHD_NOTIFY_TEMPLATE_H_
