//! `xsell serve`: the designers' preview server ([`crate::serve`]).

use std::net::IpAddr;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::serve::{self, Options};

pub fn run(
    global: &Global,
    bind: IpAddr,
    port: u16,
    open: bool,
    transport: Option<&str>,
) -> Result<i32> {
    let root = std::fs::canonicalize(&global.workspace).map_err(|e| {
        Error::usage(format!(
            "cannot open the workspace {}: {e}",
            global.workspace.display()
        ))
    })?;
    if !bind.is_loopback() {
        eprintln!(
            "warning: listening on {bind}: anyone who can reach this address sees your customers' data"
        );
    }
    let options = Options {
        root,
        bind,
        port,
        now: global.explicit_now(),
        next: global.now == Some(crate::cli::When::Next),
        transport: transport.map(str::to_string),
    };
    serve::run(options, |address| {
        let url = format!("http://{address}/");
        eprintln!(
            "xsell serve: {url} (watching templates, campaigns and xsell.toml; Ctrl-C stops)"
        );
        if open {
            super::open_in_browser(&url);
        }
    })?;
    Ok(0)
}
