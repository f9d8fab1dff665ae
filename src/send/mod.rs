//! Sending: transports (an `outbox` folder of `.eml` files, or SMTP), the
//! global rate limit, and the loop that claims each message in the ledger,
//! hands it to the transport and records the outcome.

pub mod campaign;
pub mod domains;
pub mod engine;
pub mod ledger_writer;
pub mod outbox;
pub mod smtp;
pub mod throttle;
pub mod transport;

pub use engine::{Prepared, SendOptions, SendSummary, deliver_all};
pub use transport::{Delivery, Transport, TransportSpec};
