// Errors as values for synchronous code in every folder (leveldb's Status idea).
//
// A Status is either ok or carries a Code and one human-readable line (or several, one per
// problem, for a bulk import). The code lets a caller such as the HTTP API tell "no such host"
// (404) from "that MAC is already enrolled" (409) from bad input (400) from a broken database
// (500) without parsing messages; code that has nothing more precise to say (the imaging
// library, mostly) uses Status::error(message), whose code is Code::error.
// Result<T> is a value or a Status.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace base {

enum class Code {
    ok,
    error,               // a failure with no more precise code (I/O, a malformed image, ...)
    invalid_argument,    // the caller's input is malformed (bad MAC, bad selector, ...)
    not_found,           // no such host, image or deployment
    conflict,            // a uniqueness rule: duplicate MAC, name, image name+version
    illegal_transition,  // the lifecycle forbids it
    storage,             // the database failed (I/O, corruption, busy beyond the timeout)
};

// "ok", "error", "invalid argument", "not found", ...
const char* to_string(Code code);

class Status {
  public:
    Status() = default;
    static Status ok() { return Status(); }
    static Status error(std::string message) { return Status(Code::error, std::move(message)); }
    // `code` must not be Code::ok (an error must be an error); Code::ok is taken as Code::error.
    static Status error(Code code, std::string message) {
        return Status(code == Code::ok ? Code::error : code, std::move(message));
    }

    bool is_ok() const { return code_ == Code::ok; }
    explicit operator bool() const { return is_ok(); }
    Code code() const { return code_; }
    // "ok" when ok.
    const std::string& message() const { return message_; }
    // Prefixes context to an error ("reading pack: short read"); ok stays ok; the code is kept.
    Status context(const std::string& what) const {
        return is_ok() ? *this : Status(code_, what + ": " + message_);
    }

  private:
    Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
    Code code_ = Code::ok;
    std::string message_ = "ok";
};

template <class T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Status s) : v_(std::move(s)) {}

    bool is_ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return is_ok(); }
    Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }
    // value() of an error throws std::bad_variant_access: check is_ok() first.
    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    // On a temporary, by value: `for (auto& h : *store.list_hosts(f))` must not dangle.
    T value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T operator*() && { return std::move(*this).value(); }

  private:
    std::variant<T, Status> v_;
};

// errno as a message with the failing action, code Code::error:
// errno_status("open /dev/sdb") -> "open /dev/sdb: No such file or directory".
Status errno_status(const std::string& what);
Status errno_status(const std::string& what, int err);

}  // namespace base
