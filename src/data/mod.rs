//! The shop's data: catalog, customers and behaviour events, loaded from CSV
//! or JSON Lines files or URLs into a read-only, indexed [`Store`].

mod ids;
mod load;
pub mod model;
mod rows;
pub mod source;
mod store;

pub use load::{
    Loaded, TableReport, load, load_shard, parse_timestamp, store_from_csv,
    store_from_csv_for_shard,
};
pub use model::*;
pub use rows::{ColumnReport, ReadReport};
pub use store::{Names, Store};
