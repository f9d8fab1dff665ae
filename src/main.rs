//! The `xsell` binary: parse the command line, run the command, turn the
//! outcome into an exit code (0 ok, 1 user error, 2 failure). Nothing else.

use clap::Parser;

fn main() {
    end_quietly_on_a_closed_pipe();
    let cli = xsell::cli::Cli::parse();
    xsell::stderr::use_json(cli.global.format == xsell::cli::Format::Json);
    let code = match xsell::commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            xsell::stderr::error(&error);
            error.exit_code()
        }
    };
    std::process::exit(code);
}

/// With `--format json`, a panic (caught and counted by the send loop, or
/// not) is a JSON line on stderr like every other message.
///
/// `xsell plan … | head -1`: once the reader has gone, the rest of the output
/// has nowhere to go, so the program ends quietly (exit 0), as ripgrep and
/// git do, instead of panicking in `println!`. Output is printed after the
/// work is done, so nothing is left half-done by this.
fn end_quietly_on_a_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        if xsell::stderr::is_json() {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            xsell::stderr::panic(&format!("panicked{at}: {message}"));
        } else {
            default(info);
        }
    }));
}
