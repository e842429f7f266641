//! The seam between the store and a database engine: a statement's parameters ([`Value`]),
//! a result row as cells ([`Cells`]), and the three things an engine does ([`Engine`]): run
//! a query, run two queries on one snapshot, run write statements in one transaction. The
//! adapters (`sqlite.rs`, `postgres.rs`) are thin; everything else is written once.
//!
//! The items are `pub` only so that `SqlStore<E: Engine>` may name them: the module is
//! private, so nothing outside this crate can implement or call an engine.

use crate::{Result, StoreError};
use async_trait::async_trait;

/// What an engine's result row gives, by column index.
pub trait Cells {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn flag(&self, i: usize) -> Result<bool>;
    fn blob(&self, i: usize) -> Result<Vec<u8>>;
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>>;
}

/// `Cells` of an engine's row type, every cell read by `$get(row, index)` (the engine's own
/// typed getter).
macro_rules! cells_by {
    ($row:ty, $get:path) => {
        impl $crate::engine::Cells for $row {
            fn text(&self, i: usize) -> Result<String> {
                $get(self, i)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>> {
                $get(self, i)
            }
            fn int(&self, i: usize) -> Result<i64> {
                $get(self, i)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>> {
                $get(self, i)
            }
            fn flag(&self, i: usize) -> Result<bool> {
                $get(self, i)
            }
            fn blob(&self, i: usize) -> Result<Vec<u8>> {
                $get(self, i)
            }
            fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
                $get(self, i)
            }
        }
    };
}
pub(crate) use cells_by;

/// `$body` with `$v` bound to the Rust value inside a [`Value`], whatever its variant: how an
/// engine binds a value with its own conversion of that type.
macro_rules! bind_value {
    ($value:expr, |$v:ident| $body:expr) => {
        match $value {
            $crate::engine::Value::Text($v) => $body,
            $crate::engine::Value::OptText($v) => $body,
            $crate::engine::Value::Int($v) => $body,
            $crate::engine::Value::OptInt($v) => $body,
            $crate::engine::Value::Flag($v) => $body,
            $crate::engine::Value::Blob($v) => $body,
            $crate::engine::Value::OptBlob($v) => $body,
        }
    };
}
pub(crate) use bind_value;

/// A parameter of a statement, as both engines bind it. Owned: a write runs on the engine's
/// own thread (SQLite) or task.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Flag(bool),
    Blob(Vec<u8>),
    OptBlob(Option<Vec<u8>>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Text(s.clone())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Self {
        Value::OptText(s.map(str::to_owned))
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&i64> for Value {
    fn from(v: &i64) -> Self {
        Value::Int(*v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::OptInt(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Flag(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<&Vec<u8>> for Value {
    fn from(v: &Vec<u8>) -> Self {
        Value::Blob(v.clone())
    }
}
impl From<Option<&[u8]>> for Value {
    fn from(v: Option<&[u8]>) -> Self {
        Value::OptBlob(v.map(<[u8]>::to_vec))
    }
}

/// The parameters `$1, $2, …` of a statement, in order.
macro_rules! values {
    ($($v:expr),* $(,)?) => { vec![$($crate::engine::Value::from($v)),*] };
}
pub(crate) use values;

/// How a row becomes a record.
pub type RowFn<T> = fn(&dyn Cells) -> Result<T>;

/// A read: a statement, its parameters and how each row becomes a record.
pub struct Query<T> {
    pub sql: &'static str,
    pub params: Vec<Value>,
    pub map: RowFn<T>,
}

impl<T> Query<T> {
    pub fn new(sql: &'static str, params: Vec<Value>, map: RowFn<T>) -> Self {
        Query { sql, params, map }
    }
}

/// What a write that must change exactly one row means when it changed none.
#[derive(Debug, Clone, Copy)]
pub enum Miss {
    Conflict,
    NotFound,
}

/// One statement of a write transaction.
pub struct Step {
    pub sql: &'static str,
    pub params: Vec<Value>,
    /// `Some`: the statement must change one row, or the transaction is rolled back with
    /// this error.
    pub must_change_one: Option<Miss>,
}

impl Step {
    pub fn new(sql: &'static str, params: Vec<Value>) -> Self {
        Step { sql, params, must_change_one: None }
    }

    pub fn one_or(mut self, miss: Miss) -> Self {
        self.must_change_one = Some(miss);
        self
    }

    /// Whether `changed` rows is what the step demands.
    pub fn check(&self, changed: u64) -> Result<()> {
        match self.must_change_one {
            Some(miss) if changed != 1 => Err(match miss {
                Miss::Conflict => StoreError::Conflict,
                Miss::NotFound => StoreError::NotFound,
            }),
            _ => Ok(()),
        }
    }
}

/// A database engine under the store.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// The rows of one read.
    async fn query<T: Send + 'static>(&self, q: Query<T>) -> Result<Vec<T>>;
    /// Two reads that see one snapshot.
    async fn query2<A: Send + 'static, B: Send + 'static>(
        &self,
        a: Query<A>,
        b: Query<B>,
    ) -> Result<(Vec<A>, Vec<B>)>;
    /// Write statements in one transaction, durable when it returns: the rows each changed.
    /// A unique violation is `AlreadyExists`, a step's failed check its error; either rolls
    /// everything back.
    async fn write(&self, steps: Vec<Step>) -> Result<Vec<u64>>;
    /// A consistent copy of the whole database into the new file `to`.
    async fn backup_to(&self, to: &std::path::Path) -> Result<()>;
}
