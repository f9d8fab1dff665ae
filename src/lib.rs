//! xsell: personalised cross-selling emails from a shop's catalog, customers and events.

pub mod generate;
