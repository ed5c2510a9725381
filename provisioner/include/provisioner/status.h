// Errors as values for the provisioner's synchronous code (the inventory and what builds on it).
//
// Like imaging::Status, plus a code, because the HTTP API must tell "no such host" (404) from
// "that MAC is already enrolled" (409) from bad input (400) from a broken database (500)
// without parsing messages. The message is one human-readable line (or several, one per
// problem, for a bulk import).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace provisioner {

enum class Code {
    ok,
    invalid_argument,    // the caller's input is malformed (bad MAC, bad selector, ...)
    not_found,           // no such host, image or deployment
    conflict,            // a uniqueness rule: duplicate MAC, name, image name+version
    illegal_transition,  // the lifecycle forbids it
    storage,             // the database failed (I/O, corruption, busy beyond the timeout)
};

const char* to_string(Code code);

class Status {
  public:
    Status() = default;
    static Status ok() { return Status(); }
    static Status error(Code code, std::string message) { return Status(code, std::move(message)); }

    bool is_ok() const { return code_ == Code::ok; }
    explicit operator bool() const { return is_ok(); }
    Code code() const { return code_; }
    const std::string& message() const { return message_; }
    // Prefixes context to an error ("importing hosts: ..."); ok stays ok.
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

}  // namespace provisioner
