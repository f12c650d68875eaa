// CSV as Bulk API 2.0 speaks it: RFC 4180 with LF line endings, UTF-8 passed through.
//
// A field is quoted when it holds a comma, a quote, CR or LF, or leading/trailing space;
// quotes inside are doubled. The reader takes quoted or bare fields and LF or CRLF line
// ends; an empty document has no rows.
//
// Inline because two libraries use it that link separately: the client
// (backflow_dest_salesforce) and the emulator (backflow_emulator_salesforce, which the
// backflow-sandbox binary links without the client).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "backflow/status.h"

namespace backflow::salesforce {

using CsvRow = std::vector<std::string>;

inline std::string CsvField(std::string_view field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
               (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// One record, LF-terminated.
inline std::string CsvLine(const CsvRow& row) {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvField(row[i]);
  }
  out += '\n';
  return out;
}

// Reads a document one record at a time, so a large one (a bulk job's results) is read
// without holding all of its rows. Grammar and errors as ParseCsv. REQUIRES: `text`
// outlives the reader.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}

  // The next record into *row: false at the end of the document; kInvalidArgument on an
  // unterminated quote or a quote in the middle of a bare field.
  Result<bool> Next(CsvRow* row) {
    row->clear();
    std::string field;
    const std::string_view text = text_;
    const size_t n = text.size();
    size_t& i = pos_;
    bool at_row_start = true;
    while (i < n) {
      if (at_row_start &&
          (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n'))) {
        i += text[i] == '\r' ? 2 : 1;  // a blank line is not a record
        continue;
      }
      at_row_start = false;
      if (text[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          field += text[i++];
        }
        if (!closed) return Status::InvalidArgument("CSV: unterminated quoted field");
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          return Status::InvalidArgument("CSV: text after a closing quote");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') return Status::InvalidArgument("CSV: quote inside a bare field");
          field += text[i++];
        }
      }
      row->push_back(std::move(field));
      field.clear();
      if (i >= n) return true;
      if (text[i] == ',') {
        ++i;
        if (i < n) continue;
        row->emplace_back();  // a trailing comma ends with an empty field
      } else if (text[i] == '\r') {
        if (i + 1 < n && text[i + 1] == '\n') ++i;
        else return Status::InvalidArgument("CSV: bare CR");
        ++i;
      } else {
        ++i;  // '\n'
      }
      return true;
    }
    return !row->empty();
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Every record of `text`; kInvalidArgument on an unterminated quote or a quote in the
// middle of a bare field.
inline Result<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  std::vector<CsvRow> rows;
  CsvReader reader(text);
  CsvRow row;
  for (;;) {
    Result<bool> more = reader.Next(&row);
    if (!more.ok()) return more.status();
    if (!*more) break;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace backflow::salesforce
