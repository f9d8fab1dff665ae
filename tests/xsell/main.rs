//! The integration tests: one binary, one module per area.

mod support;

mod backtest;
mod campaign_errors;
mod data_loading;
