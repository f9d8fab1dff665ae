//! Who holds a claim or a schedule run: `pid:start-time` of the process,
//! so a claim of a live process is never taken for an abandoned one (a pid
//! alone may have been reused).

/// `pid:start-time-in-clock-ticks` of this process (Linux), `pid` elsewhere.
pub(super) fn process_owner() -> String {
    let pid = std::process::id();
    match process_start(pid) {
        Some(start) => format!("{pid}:{start}"),
        None => pid.to_string(),
    }
}

/// Whether the process that wrote `owner` is still running (same pid, same start time).
pub(super) fn owner_alive(owner: &str) -> bool {
    let mut parts = owner.split(':');
    let Some(pid) = parts.next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    match (parts.next(), process_start(pid)) {
        (Some(start), Some(actual)) => start == actual,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

pub(super) fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19).map(str::to_string)
}
