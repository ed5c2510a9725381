// Reading one message object field by field (private to provisioner/wire). A Reader keeps
// the first error and ignores every read after it, so a decoder reads its fields in a row and
// checks once; readers of nested objects share their message's error and name their fields
// by path ("job: \"image.name\" is missing").
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "provisioner/status.h"

namespace provisioner::wire::detail {

enum class Need { optional, required };

class Reader {
  public:
    // message: its name in errors ("job"); object: what is read (refused unless an object).
    Reader(const char* message, const nlohmann::json& object);

    // "v": absent reads as 1; refuses a version newer than newest (the message's kVersion).
    void version(int newest);
    void string(const char* key, std::string& out, Need need);
    // A string that, when present, is not empty.
    void nonempty_string(const char* key, std::string& out, Need need);
    void integer(const char* key, std::int64_t& out, Need need);
    // Non-negative, at most max.
    void unsigned_integer(const char* key, std::uint64_t& out, Need need,
                          std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
    template <class T>
    void unsigned_integer(const char* key, T& out, Need need) {
        std::uint64_t wide = out;
        unsigned_integer(key, wide, need, std::numeric_limits<T>::max());
        out = T(wide);
    }
    void number(const char* key, double& out, Need need);
    void boolean(const char* key, bool& out, Need need);
    // Any JSON object, kept as it is (left null when absent).
    void object(const char* key, nlohmann::json& out, Need need);
    // A reader of the object at key; an absent optional one reads nothing (present() false).
    Reader child(const char* key, Need need);
    // The array at key (empty when absent), or nullptr after an error.
    const nlohmann::json* array(const char* key, Need need);
    // A reader of element index of the array at key.
    Reader element(const char* key, std::size_t index, const nlohmann::json& value);

    // Records an error about key (a rule beyond its type): "<message>: \"<path>\" <what>".
    void fail(const char* key, const std::string& what);
    // Records an error in the message's own words: "<message>: <what>".
    void fail_message(const std::string& what);

    bool ok() const { return error_->is_ok(); }
    bool present() const { return object_ != nullptr; }
    Status status() const { return *error_; }
    std::string path(const char* key) const;

  private:
    Reader(const char* message, const nlohmann::json* object, std::string prefix,
           std::shared_ptr<Status> error);
    // The value at key, nullptr when absent or null (recording "is missing" when required).
    const nlohmann::json* find(const char* key, Need need);
    void wrong_type(const char* key, const char* expected, const nlohmann::json& value);

    const char* message_;
    const nlohmann::json* object_;
    std::string prefix_;  // "image." for a nested reader
    std::shared_ptr<Status> error_;
};

// The first error of r, or value.
template <class T>
Result<T> finish(const Reader& r, T value) {
    if (!r.ok()) return r.status();
    return value;
}

}  // namespace provisioner::wire::detail
