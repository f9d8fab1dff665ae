//! The `xsell` binary: parse the command line, run the command, turn the
//! outcome into an exit code (0 ok, 1 user error, 2 failure). Nothing else.

use clap::Parser;

fn main() {
    let cli = xsell::cli::Cli::parse();
    let code = match xsell::commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{}", xsell::commands::describe_error(&error));
            error.exit_code()
        }
    };
    std::process::exit(code);
}
