// Errors as values for the synchronous imaging library (leveldb's Status idea).
// A Status is either ok or carries one human-readable line; Result<T> is a value or a Status.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace imaging {

class Status {
public:
    Status() = default;
    static Status ok() { return Status(); }
    static Status error(std::string message) { return Status(std::move(message)); }

    bool is_ok() const { return !message_.has_value(); }
    explicit operator bool() const { return is_ok(); }
    const std::string& message() const {
        static const std::string kOk = "ok";
        return message_ ? *message_ : kOk;
    }
    // Prefixes context to an error ("reading pack: short read"); ok stays ok.
    Status context(const std::string& what) const {
        return is_ok() ? *this : Status(what + ": " + *message_);
    }

private:
    explicit Status(std::string m) : message_(std::move(m)) {}
    std::optional<std::string> message_;
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
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }

private:
    std::variant<T, Status> v_;
};

// errno as a message with the failing action: errno_status("open /dev/sdb") -> "open /dev/sdb: No such ..."
Status errno_status(const std::string& what);
Status errno_status(const std::string& what, int err);

}  // namespace imaging
