#include "source/postgres.h"

#include <libpq-fe.h>

#include <exception>
#include <string>
#include <vector>

#include "source/redact.h"

namespace backflow {
namespace {

// The session settings every backflow connection runs with: timestamps render as
// "2026-01-02 03:04:05+00" whatever the server's defaults, so hashes and cursors are
// stable across servers.
constexpr const char* kSessionSetup =
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'";

// SQLSTATE classes that mean "the server or the connection is in trouble; try later"
// rather than "this statement is wrong".
bool IsTransientSqlState(const std::string& state) {
  if (state.size() != 5) return false;
  const std::string cls = state.substr(0, 2);
  return cls == "08" || cls == "53" || cls == "57" || state == "40001" || state == "40P01";
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const Secret& dsn) {
  ParsedDsn parsed = ParseDsn(dsn.Reveal());
  if (!parsed.valid) {
    // libpq's parse message quotes the DSN, so it is never passed on.
    return Status::InvalidConfig("the warehouse DSN is not a valid libpq connection string");
  }
  std::vector<std::string> secrets = {dsn.Reveal()};
  if (!parsed.password.empty()) secrets.push_back(parsed.password);
  try {
    auto conn = std::make_unique<pqxx::connection>(dsn.Reveal());
    pqxx::nontransaction tx(*conn);
    tx.exec(kSessionSetup);
    if (!parsed.has_application_name) tx.exec("SET application_name = 'backflow'");
    tx.commit();
    return std::unique_ptr<PgConnection>(new PgConnection(std::move(conn)));
  } catch (const pqxx::broken_connection& e) {
    return Status::Unavailable("cannot connect to the warehouse: " +
                               RedactSecrets(TrimMessage(e.what()), secrets));
  } catch (const std::exception& e) {
    Status st = StatusFromPgException("connect to the warehouse");
    return Status(st.code(), RedactSecrets(st.message(), secrets));
  }
}

Status PgConnection::InTransaction(const std::string& what,
                                   const std::function<void(pqxx::work&)>& fn) {
  try {
    pqxx::work tx(*conn_);
    fn(tx);
    tx.commit();
    return Status::Ok();
  } catch (...) {
    return StatusFromPgException(what);
  }
}

Status PgConnection::NonTransaction(const std::string& what,
                                    const std::function<void(pqxx::nontransaction&)>& fn) {
  try {
    pqxx::nontransaction tx(*conn_);
    fn(tx);
    tx.commit();
    return Status::Ok();
  } catch (...) {
    return StatusFromPgException(what);
  }
}

bool PgConnection::is_open() const {
  try {
    return conn_ != nullptr && conn_->is_open();
  } catch (...) {
    return false;
  }
}

Status StatusFromPgException(const std::string& what) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return Status::Unavailable(what + ": the warehouse connection broke: " +
                               RedactDsnPasswords(TrimMessage(e.what())));
  } catch (const pqxx::in_doubt_error& e) {
    return Status::Unavailable(what + ": the connection broke during commit; the outcome is unknown");
  } catch (const pqxx::sql_error& e) {
    const std::string state = e.sqlstate();
    std::string msg = what + ": SQLSTATE " + (state.empty() ? "?" : state) + ": " +
                      RedactDsnPasswords(TrimMessage(e.what()));
    if (IsTransientSqlState(state)) return Status::Unavailable(std::move(msg));
    return Status::Failed(std::move(msg));
  } catch (const std::exception& e) {
    return Status::Internal(what + ": " + RedactDsnPasswords(TrimMessage(e.what())));
  } catch (...) {
    return Status::Internal(what + ": unknown exception");
  }
}

std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteLiteral(const std::string& value) {
  bool backslash = value.find('\\') != std::string::npos;
  std::string out = backslash ? " E'" : "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    if (c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace backflow
