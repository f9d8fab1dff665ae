//! The integration tests: one binary, one module per area.

mod support;

mod backtest;
mod browser;
mod campaign_errors;
mod data_loading;
mod designers;
mod hardening;
mod hostile;
mod inbound;
mod listen;
mod mjml_reference;
mod peers;
mod placements;
mod plan;
mod postgres;
mod preview;
mod render;
mod render_checks;
mod render_errors;
mod render_paths;
mod report;
mod rough_edges;
mod run_week;
mod send_cli;
mod sending;
mod serve;
mod shards;
mod suppression;
