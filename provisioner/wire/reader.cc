#include "reader.h"

namespace provisioner::wire::detail {

using nlohmann::json;

namespace {

const char* type_name(const json& value) {
    switch (value.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "an integer";
        case json::value_t::number_float:
            return "a fractional number";
        default:
            return "something else";
    }
}

}  // namespace

Reader::Reader(const char* message, const json& object)
    : Reader(message, &object, "", std::make_shared<Status>()) {
    if (!object.is_object())
        *error_ = Status::error(
            Code::invalid_argument,
            std::string(message) + ": must be a JSON object, not " + type_name(object));
}

Reader::Reader(const char* message, const json* object, std::string prefix,
               std::shared_ptr<Status> error)
    : message_(message), object_(object), prefix_(std::move(prefix)), error_(std::move(error)) {}

std::string Reader::path(const char* key) const {
    return prefix_ + key;
}

void Reader::fail(const char* key, const std::string& what) {
    if (ok()) fail_message("\"" + path(key) + "\" " + what);
}

void Reader::fail_message(const std::string& what) {
    if (ok()) *error_ = Status::error(Code::invalid_argument, std::string(message_) + ": " + what);
}

void Reader::wrong_type(const char* key, const char* expected, const json& value) {
    fail(key, std::string("must be ") + expected + ", not " + type_name(value));
}

const json* Reader::find(const char* key, Need need) {
    if (!ok() || !object_) return nullptr;
    auto it = object_->find(key);
    if (it == object_->end() || it->is_null()) {
        if (need == Need::required) fail(key, "is missing");
        return nullptr;
    }
    return &*it;
}

void Reader::version(int newest) {
    const json* v = find("v", Need::optional);
    if (!v) return;
    if (!v->is_number_integer() || v->get<std::int64_t>() < 1)
        return fail("v", "(the message's version) must be a positive integer");
    std::int64_t version = v->get<std::int64_t>();
    if (version > newest)
        fail_message("version " + std::to_string(version) + " is newer than this side reads (" +
                     std::to_string(newest) + "); upgrade it");
}

void Reader::string(const char* key, std::string& out, Need need) {
    const json* v = find(key, need);
    if (!v) return;
    if (!v->is_string()) return wrong_type(key, "a string", *v);
    out = v->get<std::string>();
}

void Reader::nonempty_string(const char* key, std::string& out, Need need) {
    std::string text = out;
    string(key, text, need);
    if (!ok()) return;
    if (object_ && object_->contains(key) && !(*object_)[key].is_null() && text.empty())
        return fail(key, "must not be empty");
    out = std::move(text);
}

void Reader::integer(const char* key, std::int64_t& out, Need need) {
    const json* v = find(key, need);
    if (!v) return;
    if (!v->is_number_integer() ||
        (v->is_number_unsigned() &&
         v->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())))
        return wrong_type(key, "an integer", *v);
    out = v->get<std::int64_t>();
}

void Reader::unsigned_integer(const char* key, std::uint64_t& out, Need need, std::uint64_t max) {
    const json* v = find(key, need);
    if (!v) return;
    if (!v->is_number_integer()) return wrong_type(key, "a non-negative integer", *v);
    // A value built in C++ from a signed int is number_integer even when positive.
    if (!v->is_number_unsigned() && v->get<std::int64_t>() < 0)
        return fail(key, "must not be negative");
    std::uint64_t value = v->get<std::uint64_t>();
    if (value > max) return fail(key, "must be at most " + std::to_string(max));
    out = value;
}

void Reader::number(const char* key, double& out, Need need) {
    const json* v = find(key, need);
    if (!v) return;
    if (!v->is_number()) return wrong_type(key, "a number", *v);
    out = v->get<double>();
}

void Reader::boolean(const char* key, bool& out, Need need) {
    const json* v = find(key, need);
    if (!v) return;
    if (!v->is_boolean()) return wrong_type(key, "true or false", *v);
    out = v->get<bool>();
}

void Reader::object(const char* key, json& out, Need need) {
    const json* v = find(key, need);
    if (!v) return;
    if (!v->is_object()) return wrong_type(key, "an object", *v);
    out = *v;
}

Reader Reader::child(const char* key, Need need) {
    const json* v = find(key, need);
    if (v && !v->is_object()) {
        wrong_type(key, "an object", *v);
        v = nullptr;
    }
    return Reader(message_, v, path(key) + ".", error_);
}

const json* Reader::array(const char* key, Need need) {
    static const json kEmpty = json::array();
    const json* v = find(key, need);
    if (!ok()) return nullptr;
    if (!v) return &kEmpty;
    if (!v->is_array()) {
        wrong_type(key, "an array", *v);
        return nullptr;
    }
    return v;
}

Reader Reader::element(const char* key, std::size_t index, const json& value) {
    std::string at = path(key) + "[" + std::to_string(index) + "]";
    if (!value.is_object()) {
        fail_message("\"" + at + "\" must be an object, not " + type_name(value));
        return Reader(message_, nullptr, at + ".", error_);
    }
    return Reader(message_, &value, at + ".", error_);
}

}  // namespace provisioner::wire::detail
