//! Fault injection, for the tests that show a panic anywhere in the send path
//! is a counted failure and never a silent drop.
//!
//! `XSELL_FAULT=render:C000123,transport:*` makes the named stage panic for
//! that customer (`*`: every customer). Only debug builds (the test suite's)
//! read the variable; a release build never panics on purpose.

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

/// Panics when `XSELL_FAULT` names `stage` for `customer` (debug builds only).
pub fn inject(stage: &str, customer: &str) {
    if cfg!(debug_assertions) && !QUIET.get() && planted(stage, customer) {
        panic!("injected fault in {stage} for {customer} (XSELL_FAULT)");
    }
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` with no fault injected on this thread: the check of a
/// campaign's templates (a sample render) is not part of the send path the
/// faults exercise.
pub fn without_faults<T>(work: impl FnOnce() -> T) -> T {
    let before = QUIET.replace(true);
    let result = catch(work);
    QUIET.set(before);
    result.unwrap_or_else(|message| panic!("{message}"))
}

fn planted(stage: &str, customer: &str) -> bool {
    static FAULTS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FAULTS
        .get_or_init(|| {
            std::env::var("XSELL_FAULT")
                .unwrap_or_default()
                .split(',')
                .filter_map(|fault| fault.split_once(':'))
                .map(|(s, c)| (s.trim().to_string(), c.trim().to_string()))
                .collect()
        })
        .iter()
        .any(|(s, c)| s == stage && (c == "*" || c == customer))
}

/// Runs `work`, turning a panic into an error that says what panicked.
pub fn catch<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|payload| panic_message(&*payload))
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    format!("internal error (a bug in xsell, please report it): {text}")
}
