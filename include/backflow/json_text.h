// JSON text written directly, for bodies built record by record (a request's inputs, a
// commit's values, an emulator's answer) where a DOM per record would cost an allocation
// per node.
#pragma once

#include <string>
#include <string_view>

namespace backflow {

// Appends `value` as a JSON string literal, escaped as nlohmann::json::dump() escapes:
// '"', '\\' and control characters; UTF-8 (as the warehouse's text is) is kept as it is.
// Runs of characters that need no escape are appended whole.
void AppendJsonString(std::string* out, std::string_view value);

}  // namespace backflow
