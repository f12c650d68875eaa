// The Postgres adapter: the only place that sees libpqxx exceptions.
//
// Everything in source/, planner/ and state/ talks to Postgres through a PgConnection
// and gets a Status back: kUnavailable when the server cannot be reached or the
// connection broke (retry the run later), kFailed for SQL errors (a person must look),
// kInvalidArgument when the model's SQL itself is wrong. One connection is used by one
// thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "backflow/secret.h"
#include "backflow/status.h"

namespace backflow {

class PgConnection {
 public:
  // Connects (the DSN is never part of an error message).
  static Result<std::unique_ptr<PgConnection>> Open(const Secret& dsn);

  pqxx::connection& raw() { return *conn_; }
  // Runs `fn` inside a transaction and commits; any libpqxx exception becomes a Status
  // (the transaction is rolled back). `what` names the work for the message.
  Status InTransaction(const std::string& what, const std::function<void(pqxx::work&)>& fn);
  // Same, without a transaction (DDL batches, SET, advisory locks).
  Status NonTransaction(const std::string& what,
                        const std::function<void(pqxx::nontransaction&)>& fn);
  bool is_open() const;

 private:
  explicit PgConnection(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}
  std::unique_ptr<pqxx::connection> conn_;
};

// Turns the exception in flight into a Status (call from a catch block).
Status StatusFromPgException(const std::string& what);

// Quotes an identifier ("analytics"."lead_scores" stays as written when already qualified
// by the caller; this quotes one name).
std::string QuoteIdent(const std::string& name);
// Quotes a string literal.
std::string QuoteLiteral(const std::string& value);

}  // namespace backflow
