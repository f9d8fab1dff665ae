//! The two databases the ledger runs on, behind one small interface:
//! SQLite (a file, the default) and PostgreSQL (a shared server for several
//! senders and hosts, or an engine that speaks its protocol). The ledger
//! writes its SQL once, with `?N` placeholders (rewritten to `$N` for
//! PostgreSQL) and the subset both understand (`INSERT … ON CONFLICT`,
//! `excluded.`); parameters and rows are [`Value`]s.
//!
//! Transactions: SQLite's are `BEGIN IMMEDIATE` (one writer at a time, the
//! others wait up to the busy timeout); PostgreSQL's are `SERIALIZABLE`
//! and retried when the server reports a serialization failure or a
//! deadlock (SQLSTATE 40001, 40P01) — unique keys stay the only lock, as
//! distributed SQL engines (CockroachDB, YugabyteDB) require.

use std::collections::HashMap;
use std::fmt;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Int(value)
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Value {
        Value::Int(i64::from(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::Text(value.to_string())
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Value {
        Value::Text(value.clone())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::Text(value)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

/// `vals![a, b, c]`: the parameters of a statement.
macro_rules! vals {
    ($($value:expr),* $(,)?) => {
        &[$($crate::ledger::db::Value::from($value)),*]
    };
}
pub(crate) use vals;

/// One row of a result.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    pub fn int(&self, column: usize) -> i64 {
        self.opt_int(column).unwrap_or_default()
    }

    pub fn opt_int(&self, column: usize) -> Option<i64> {
        match self.0.get(column) {
            Some(Value::Int(value)) => Some(*value),
            Some(Value::Text(text)) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn text(&self, column: usize) -> String {
        self.opt_text(column).unwrap_or_default()
    }

    pub fn opt_text(&self, column: usize) -> Option<String> {
        match self.0.get(column) {
            Some(Value::Text(text)) => Some(text.clone()),
            Some(Value::Int(value)) => Some(value.to_string()),
            _ => None,
        }
    }
}

/// What went wrong in the database.
#[derive(Debug)]
pub enum DbError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    /// A query that always answers did not (a bug).
    Missing(String),
}

impl DbError {
    /// A serialization failure or a deadlock: the transaction may be run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Sqlite(_) | DbError::Missing(_) => false,
            DbError::Postgres(error) => error.code().is_some_and(|code| {
                *code == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
            }),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Sqlite(error) => write!(f, "{error}"),
            DbError::Missing(what) => write!(f, "no answer for {what}"),
            DbError::Postgres(error) => match error.as_db_error() {
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => write!(f, "{error}"),
            },
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> DbError {
        DbError::Sqlite(error)
    }
}

impl From<postgres::Error> for DbError {
    fn from(error: postgres::Error) -> DbError {
        DbError::Postgres(error)
    }
}

pub type DbResult<T> = std::result::Result<T, DbError>;

/// An open database.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<Postgres>),
}

/// A PostgreSQL connection and its prepared statements. The client blocks
/// on an async runtime of its own, which may not be entered from inside
/// another (the send loop's): a call made there runs on a short-lived thread
/// of its own; every other call (the ledger writer's, the commands') runs
/// in place.
pub struct Postgres {
    connection: std::sync::Mutex<Connection>,
}

struct Connection {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

impl Connection {
    fn statement(&mut self, sql: &str) -> DbResult<postgres::Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&dollar_placeholders(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl Postgres {
    pub fn connect(config: postgres::Config) -> DbResult<Postgres> {
        let client = outside_any_runtime(move || config.connect(postgres::NoTls))?;
        Ok(Postgres {
            connection: std::sync::Mutex::new(Connection {
                client,
                statements: HashMap::new(),
            }),
        })
    }

    fn call<T: Send>(
        &self,
        work: impl FnOnce(&mut Connection) -> DbResult<T> + Send,
    ) -> DbResult<T> {
        let mut guard = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let connection: &mut Connection = &mut guard;
        outside_any_runtime(|| work(connection))
    }
}

/// Runs `work` where no async runtime is entered.
fn outside_any_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// `?1` → `$1` (outside quotes).
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        out.push(if c == '?' && !quoted { '$' } else { c });
    }
    out
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        })
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(value) => match *ty {
                Type::INT4 => i32::try_from(*value)?.to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => value.to_string().to_sql(ty, out),
                _ => value.to_sql(ty, out),
            },
            Value::Text(text) => text.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl Db {
    /// Runs one statement; how many rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> DbResult<usize> {
        match self {
            Db::Sqlite(connection) => Ok(connection
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params))?),
            Db::Postgres(pg) => pg.call(|connection| {
                let statement = connection.statement(sql)?;
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as _).collect();
                Ok(connection.client.execute(&statement, &params)? as usize)
            }),
        }
    }

    /// Runs a query; every row.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> DbResult<Vec<Row>> {
        match self {
            Db::Sqlite(connection) => {
                let mut statement = connection.prepare_cached(sql)?;
                let columns = statement.column_count();
                let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
                    (0..columns)
                        .map(|i| {
                            Ok(match row.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => Value::Null,
                                rusqlite::types::ValueRef::Integer(value) => Value::Int(value),
                                rusqlite::types::ValueRef::Real(value) => Value::Int(value as i64),
                                rusqlite::types::ValueRef::Text(text)
                                | rusqlite::types::ValueRef::Blob(text) => {
                                    Value::Text(String::from_utf8_lossy(text).into_owned())
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<Value>>>()
                        .map(Row)
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<Row>>>()?)
            }
            Db::Postgres(pg) => pg.call(|connection| {
                let statement = connection.statement(sql)?;
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as _).collect();
                let rows = connection.client.query(&statement, &params)?;
                rows.iter().map(postgres_row).collect()
            }),
        }
    }

    /// Runs a query; its first row, if any.
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> DbResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs statements without parameters (migrations).
    pub fn batch(&mut self, sql: &str) -> DbResult<()> {
        match self {
            Db::Sqlite(connection) => Ok(connection.execute_batch(sql)?),
            Db::Postgres(pg) => pg.call(|connection| Ok(connection.client.batch_execute(sql)?)),
        }
    }

    pub fn begin(&mut self) -> DbResult<()> {
        match self {
            Db::Sqlite(connection) => Ok(connection.execute_batch("BEGIN IMMEDIATE")?),
            Db::Postgres(_) => self.batch("BEGIN ISOLATION LEVEL SERIALIZABLE"),
        }
    }

    pub fn commit(&mut self) -> DbResult<()> {
        self.batch("COMMIT")
    }

    pub fn rollback(&mut self) {
        let _ = self.batch("ROLLBACK");
    }

    /// Runs `work` in one transaction, committed if it succeeds; on
    /// PostgreSQL a serialization failure runs it again (a few times).
    pub fn transaction<T>(&mut self, mut work: impl FnMut(&mut Db) -> DbResult<T>) -> DbResult<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.begin()?;
            let outcome = work(self).and_then(|value| self.commit().map(|()| value));
            match outcome {
                Ok(value) => return Ok(value),
                Err(error) => {
                    self.rollback();
                    if !(error.is_retryable() && attempt < MAX_ATTEMPTS) {
                        return Err(error);
                    }
                    // Back off a random while (up to 2^attempt ms, at most
                    // 0.2 s), so that the transactions that collided do not
                    // collide again.
                    let nanos = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_nanos());
                    let ceiling = 2u64.pow(attempt.min(8)).min(200);
                    let pause = u64::from(nanos ^ std::process::id()) % ceiling + 1;
                    std::thread::sleep(std::time::Duration::from_millis(pause));
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}

/// Tries of one transaction on PostgreSQL before its error is returned.
const MAX_ATTEMPTS: u32 = 100;

fn postgres_row(row: &postgres::Row) -> DbResult<Row> {
    use postgres::types::Type;
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            _ => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT ?1, '?' FROM t WHERE a = ?2"),
            "SELECT $1, '?' FROM t WHERE a = $2"
        );
    }
}
