//! xsell: personalised cross-selling emails from a shop's catalog, customers and events.
//!
//! The pipeline, in the order a message goes through it: [`config`] →
//! [`data`] (the indexed store) → [`campaign`] → moments → audience → caps →
//! smart lists → offer → render → ledger claim → transport → ledger commit.

pub mod audience;
pub mod calendar;
pub mod campaign;
pub mod caps;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod diagnostic;
pub mod error;
pub mod fault;
pub mod generate;
pub mod history;
pub mod inbound;
pub mod ledger;
pub mod listen;
pub mod money;
pub mod offer;
pub mod placement;
pub mod plan;
pub mod preview;
pub mod recommend;
pub mod render;
pub mod report;
pub mod run_lock;
pub mod schedule;
pub mod send;
pub mod serve;
pub mod shard;
pub mod signing;
pub mod stderr;
pub mod trigger;
pub mod units;
pub mod workspace;
