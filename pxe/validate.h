// Field checks shared by the renderers (private to pxe/). Each returns ok or an error that
// names the field, so a bad inventory value never becomes a line of dnsmasq.conf.
#pragma once

#include <string>

#include "base/status.h"

namespace pxe::detail {

base::Status check_ipv4(const std::string& field, const std::string& value);
base::Status check_absolute_path(const std::string& field, const std::string& value);
// RFC 1123 label: letters, digits, '-', 1..63 characters, no leading or trailing '-'.
base::Status check_hostname(const std::string& field, const std::string& value);
// http:// or https:// URL with no space, comma, quote, '$' or control character.
base::Status check_http_url(const std::string& field, const std::string& value);
// Non-empty, and only characters that are inert in dnsmasq.conf (letters, digits, "-._/:+@").
base::Status check_plain(const std::string& field, const std::string& value);

}  // namespace pxe::detail
