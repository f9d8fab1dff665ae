//! `xsell listen`: the public service ([`crate::listen`]).

use std::net::IpAddr;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::listen::{self, Options};

pub fn run(
    global: &Global,
    bind: IpAddr,
    port: u16,
    rate_per_client: f64,
    undo_within: chrono::TimeDelta,
) -> Result<i32> {
    let root = std::fs::canonicalize(&global.workspace).map_err(|e| {
        Error::usage(format!(
            "cannot open the workspace {}: {e}",
            global.workspace.display()
        ))
    })?;
    let options = Options {
        root,
        bind,
        port,
        rate_per_client,
        undo_within: undo_within.num_seconds(),
    };
    listen::run(options, global.explicit_now(), |address| {
        crate::stderr::note(&format!(
            "xsell listen: http://{address}/ (behind your TLS proxy; SIGTERM stops after the requests in flight)"
        ));
    })?;
    Ok(0)
}
