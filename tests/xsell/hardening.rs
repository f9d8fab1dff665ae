//! The adversarial review's defects, each as the test that would have
//! caught it: panics and overflows counted as failures, out-of-range dates,
//! lost ledgers, secrets, hostile data and closed pipes.

use xsell::ledger::{Ledger, State};

use crate::support::*;

const NOW: &str = "2026-11-16T09:00:00Z";
const CAMPAIGN: &str = "post-purchase-completion";

fn ledger(workspace: &Workspace) -> Ledger {
    Ledger::open(&workspace.path().join("state/xsell.db")).unwrap()
}

/// The customers `xsell plan` would mail, in plan order.
fn planned_customers(workspace: &Workspace) -> Vec<String> {
    let run = workspace.xsell(&["--now", NOW, "--format", "json", "plan", CAMPAIGN]);
    let plan: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"));
    plan["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["customer"]["id"].as_str().unwrap().to_string())
        .collect()
}

fn send_with_fault(workspace: &Workspace, fault: &str) -> Run {
    let mut command = workspace.command(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
    command.env("XSELL_FAULT", fault);
    Run::from(command.output().unwrap())
}

fn report(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"))
}

/// A panic while rendering one message, or while handing one to the
/// transport, fails that message with the reason, exits 2, reports nothing
/// sent that was not, and a rerun completes the campaign.
#[test]
fn a_panic_in_rendering_or_transport_is_a_counted_failure_and_a_rerun_completes() {
    for stage in ["render", "transport"] {
        let workspace = Workspace::example();
        let customers = planned_customers(&workspace);
        let victim = &customers[customers.len() / 2];
        let run = send_with_fault(&workspace, &format!("{stage}:{victim}"));
        assert_eq!(run.code, 2, "{stage}: {run:?}");
        let first = report(&run);
        assert_eq!(first["failed"], 1, "{stage}: {run:?}");
        assert_eq!(
            first["sent"],
            customers.len() as u64 - 1,
            "{stage}: {run:?}"
        );
        let ledger = ledger(&workspace);
        let failed = ledger
            .messages_in_state(Some(CAMPAIGN), State::Failed)
            .unwrap();
        assert_eq!(failed.len(), 1, "{stage}");
        assert_eq!(&failed[0].key.customer, victim);
        assert!(
            failed[0]
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains(&format!(
                    "internal error (a bug in xsell, please report it): injected fault in {stage}"
                )),
            "{stage}: {:?}",
            failed[0].reason
        );
        let sent = ledger
            .messages_in_state(Some(CAMPAIGN), State::Sent)
            .unwrap();
        assert_eq!(sent.len(), customers.len() - 1, "{stage}");
        let files = std::fs::read_dir(workspace.path().join("outbox").join(CAMPAIGN))
            .unwrap()
            .count();
        assert_eq!(
            files,
            customers.len() - 1,
            "{stage}: the outbox holds what the ledger says was sent"
        );

        let again = workspace.xsell(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
        assert_eq!(again.code, 0, "{stage}: {again:?}");
        assert_eq!(report(&again)["sent"], 1, "{stage}: {again:?}");
        let sent = ledger
            .messages_in_state(Some(CAMPAIGN), State::Sent)
            .unwrap();
        assert_eq!(sent.len(), customers.len(), "{stage}");
    }
}

/// Every message panicking (a bug that hits everyone) stops nothing silently either.
#[test]
fn a_panic_for_every_message_fails_every_message() {
    let workspace = Workspace::example();
    let planned = planned_customers(&workspace).len() as u64;
    let run = send_with_fault(&workspace, "render:*");
    assert_eq!(run.code, 2, "{run:?}");
    let report = report(&run);
    assert_eq!(
        (report["sent"].as_u64(), report["failed"].as_u64()),
        (Some(0), Some(planned))
    );
}

/// `xsell run` reports a campaign with a panicked message as failed and
/// leaves its schedule run to be retried.
#[test]
fn run_marks_a_campaign_with_a_panic_failed_and_not_done() {
    let workspace = Workspace::example();
    let victim = planned_customers(&workspace)[0].clone();
    let mut command =
        workspace.command(&["--now", NOW, "--format", "json", "run", "--only", CAMPAIGN]);
    command.env("XSELL_FAULT", format!("render:{victim}"));
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 2, "{run:?}");
    let line: serde_json::Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["outcome"], "failed", "{run:?}");
    let runs = ledger(&workspace).schedule_runs(CAMPAIGN, 5).unwrap();
    assert!(
        runs.iter()
            .all(|r| r.state != xsell::ledger::RunState::Done),
        "{runs:?}"
    );
}

/// A price past what decimal arithmetic can discount is a located data error.
#[test]
fn an_absurd_price_is_a_located_error_in_check() {
    let workspace = Workspace::example();
    let catalog = workspace.read("fixtures/catalog.csv");
    let mut lines: Vec<String> = catalog.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let price = header.iter().position(|c| *c == "price").unwrap();
    let mut fields: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    fields[price] = "1000000000000000000000000000".into();
    lines[3] = fields.join(",");
    workspace.write("fixtures/catalog.csv", &(lines.join("\n") + "\n"));
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("catalog.csv:4")
            && run.stderr.contains("invalid price `1000000000000000000000000000`: larger than 1000000000000 (the largest amount xsell accepts)"),
        "{run:?}"
    );
}

/// Each part of a duration within the cap but their sum out of chrono's
/// range: a located error in `check`, never a panic in `plan`.
#[test]
fn a_duration_whose_sum_is_too_long_is_a_located_error() {
    let workspace = Workspace::example();
    let path = format!("campaigns/{CAMPAIGN}.yaml");
    let yaml = workspace.read(&path);
    let line = yaml
        .lines()
        .position(|l| l.contains("expires_in:"))
        .unwrap()
        + 1;
    workspace.write(
        &path,
        &yaml.replace("expires_in: 7d", "expires_in: 36600d36600d36600d"),
    );
    for command in [vec!["check"], vec!["--now", NOW, "plan", CAMPAIGN]] {
        let run = workspace.xsell(&command);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.contains(&format!(
                "campaigns/{CAMPAIGN}.yaml:{line}:15: duration `36600d36600d36600d` is longer than a hundred years"
            )),
            "{run:?}"
        );
    }
}

/// `xsell plan … | head -1` ends quietly when the reader is gone.
#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::io::Read;
    let workspace = Workspace::example();
    let mut child = workspace
        .command(&["--now", NOW, "--format", "json", "plan", CAMPAIGN])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's reader is dropped here, as `head` closes it.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn eml_count(workspace: &Workspace) -> usize {
    std::fs::read_dir(workspace.path().join("outbox").join(CAMPAIGN)).map_or(0, |dir| dir.count())
}

fn remove_ledger(workspace: &Workspace) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(workspace.path().join(format!("state/xsell.db{suffix}")));
    }
}

/// A lost ledger never resends everything: an empty file, a missing one
/// while the workspace shows earlier sends, or another workspace's ledger
/// stops the send before anything goes out.
#[test]
fn a_lost_ledger_stops_the_send_instead_of_resending_everything() {
    let workspace = Workspace::example();
    let send = || workspace.xsell(&["--now", NOW, "send", CAMPAIGN]);
    let first = send();
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stderr.contains("note: created a new ledger at "),
        "{first:?}"
    );
    assert!(workspace.path().join(".xsell-workspace").exists());
    let sent = eml_count(&workspace);
    assert!(sent > 50, "{sent}");
    std::fs::remove_dir_all(workspace.path().join("outbox")).unwrap();

    // An empty ledger file.
    remove_ledger(&workspace);
    std::fs::write(workspace.path().join("state/xsell.db"), "").unwrap();
    let run = send();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("the ledger file is empty — it was lost or truncated"),
        "{run:?}"
    );
    let run = workspace.xsell(&["--now", NOW, "run"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("the ledger file is empty"), "{run:?}");

    // A deleted ledger: the workspace's id file shows it had one.
    remove_ledger(&workspace);
    let run = send();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            ".xsell-workspace (written with its ledger) shows this workspace has sent before"
        ),
        "{run:?}"
    );

    // No id file either, but the outbox shows earlier sends.
    std::fs::remove_file(workspace.path().join(".xsell-workspace")).unwrap();
    std::fs::remove_dir_all(workspace.path().join("state")).unwrap();
    let run = send();
    assert_eq!(
        run.code, 0,
        "a workspace without traces starts a ledger: {run:?}"
    );
    std::fs::remove_dir_all(workspace.path().join("state")).unwrap();
    std::fs::remove_file(workspace.path().join(".xsell-workspace")).unwrap();
    let run = send();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(".eml files in"), "{run:?}");
    assert_eq!(eml_count(&workspace), sent, "nothing was sent again");

    // `xsell ledger init --force` is the way to start again on purpose.
    let init = workspace.xsell(&["ledger", "init", "--force"]);
    assert_eq!(init.code, 0, "{init:?}");
    let init = workspace.xsell(&["ledger", "init"]);
    assert_eq!(init.code, 1, "{init:?}");
    assert!(init.stderr.contains("already exists"), "{init:?}");

    // Another workspace's ledger at `[ledger] path`.
    let other = Workspace::example();
    assert_eq!(other.xsell(&["ledger", "init"]).code, 0);
    let config = workspace.read("xsell.toml");
    let foreign = other.path().join("state/xsell.db");
    workspace.write(
        "xsell.toml",
        &config.replace(
            "path = \"state/xsell.db\"",
            &format!("path = \"{}\"", foreign.display()),
        ),
    );
    let run = send();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("belongs to another workspace"),
        "{run:?}"
    );
}

/// Another program locks the ledger in the middle of a send: the send stops
/// with its summary, the cause and the remedy, and exits 2; what it
/// reported sent is in the outbox and the ledger.
#[test]
fn a_ledger_locked_mid_send_keeps_the_summary_and_names_the_cause() {
    let workspace = Workspace::example();
    let config = workspace
        .read("xsell.toml")
        .replace("rate = 200 ", "rate = 40 ")
        .replace("burst = 200", "burst = 1")
        .replace(
            "path = \"state/xsell.db\"",
            "path = \"state/xsell.db\"\nbusy_timeout = \"1s\"",
        );
    workspace.write("xsell.toml", &config);
    assert_eq!(workspace.xsell(&["ledger", "init"]).code, 0);
    let child = workspace
        .command(&["--now", NOW, "--format", "json", "send", CAMPAIGN])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while eml_count(&workspace) < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the send did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let locker = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)\nc.execute('BEGIN EXCLUSIVE')\ntime.sleep(4)\nc.execute('COMMIT')")
        .arg(workspace.path().join("state/xsell.db"))
        .status();
    let run = Run::from(child.wait_with_output().unwrap());
    assert!(locker.unwrap().success());
    assert_eq!(run.code, 2, "{run:?}");
    let report = report(&run);
    let stopped = report["stopped"]
        .as_str()
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(
        stopped.contains("database is locked")
            && stopped.contains(
                "another program held the ledger locked longer than `[ledger] busy_timeout`"
            ),
        "{stopped}"
    );
    let sent = report["sent"].as_u64().unwrap() as usize;
    assert!((20..136).contains(&sent), "{run:?}");
    let ledger = ledger(&workspace);
    let recorded = ledger
        .messages_in_state(Some(CAMPAIGN), State::Sent)
        .unwrap()
        .len();
    let unconfirmed = ledger.unconfirmed(Some(CAMPAIGN)).unwrap().len();
    // Delivered is what the report says; each one is recorded as sent, or
    // (when its outcome was in the commit the lock refused) an unconfirmed
    // claim the next run lists — never forgotten.
    assert_eq!(eml_count(&workspace), sent, "{run:?}");
    assert!(
        recorded <= sent && recorded + unconfirmed >= sent,
        "{recorded} + {unconfirmed} vs {sent}: {run:?}"
    );
}

/// Without `XSELL_SECRET`, nothing is recorded as sent with the public
/// development key: `send` and `run` stop before writing anything; dry runs,
/// plans and previews still work.
#[test]
fn without_the_secret_nothing_is_sent_or_recorded() {
    let workspace = Workspace::example();
    let without = |args: &[&str]| {
        let mut command = workspace.command(args);
        command.env_remove("XSELL_SECRET");
        Run::from(command.output().unwrap())
    };
    for args in [
        vec!["--now", NOW, "send", CAMPAIGN],
        vec!["--now", NOW, "run"],
        vec!["--now", NOW, "--format", "json", "run"],
    ] {
        let run = without(&args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr
                .contains("set the environment variable XSELL_SECRET to a secret signing key"),
            "{run:?}"
        );
    }
    assert!(!workspace.path().join("outbox").exists());
    assert!(!workspace.path().join("state/xsell.db").exists());
    assert!(
        !workspace.path().join("state/xsell.lock").exists(),
        "no trace of a send that never was"
    );
    assert!(!workspace.path().join(".xsell-workspace").exists());
    for args in [
        vec!["--now", NOW, "send", CAMPAIGN, "--dry-run"],
        vec!["--now", NOW, "run", "--dry-run"],
        vec!["--now", NOW, "plan", CAMPAIGN],
    ] {
        let run = without(&args);
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert!(
        !workspace.path().join("state/xsell.db").exists(),
        "a dry run creates no ledger"
    );
}

/// Only http(s) links from the data reach a message: a `javascript:` or
/// `data:` product URL is a located data error.
#[test]
fn script_and_data_urls_from_the_catalog_are_located_errors() {
    for (column, bad) in [
        ("url", "javascript:alert(document.domain)"),
        ("image_url", "data:text/html;base64,PHNjcmlwdD4="),
    ] {
        let workspace = Workspace::example();
        let catalog = workspace.read("fixtures/catalog.csv");
        let mut lines: Vec<String> = catalog.lines().map(str::to_string).collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        let at = header.iter().position(|c| *c == column).unwrap();
        let mut fields: Vec<String> = lines[5].split(',').map(str::to_string).collect();
        fields[at] = format!("\"{bad}\"");
        lines[5] = fields.join(",");
        workspace.write("fixtures/catalog.csv", &(lines.join("\n") + "\n"));
        for args in [vec!["check"], vec!["--now", NOW, "send", CAMPAIGN]] {
            let run = workspace.xsell(&args);
            assert_eq!(run.code, 1, "{run:?}");
            assert!(
                run.stderr.contains("fixtures/catalog.csv:6")
                    && run.stderr.contains(&format!("invalid {column} `{bad}`: only http:// and https:// links may go into a message")),
                "{run:?}"
            );
        }
        assert!(!workspace.path().join("outbox").exists());
    }
}

fn set_customer_currency(workspace: &Workspace, currency: &str, every: usize) {
    let customers = workspace.read("fixtures/customers.csv");
    let lines: Vec<String> = customers
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i > 0 && i % every == 0 {
                format!("{},{currency}", line.rsplit_once(',').unwrap().0)
            } else {
                line.to_string()
            }
        })
        .collect();
    workspace.write("fixtures/customers.csv", &(lines.join("\n") + "\n"));
}

/// Customers paying in a currency the catalog does not price: `check` says
/// so, and `send` skips them with that reason, recorded once, instead of
/// failing each message on a misleading template error forever.
#[test]
fn an_unpriced_customer_currency_is_named_at_check_and_skipped_once_at_send() {
    let workspace = Workspace::example();
    set_customer_currency(&workspace, "JPY", 3);
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check.stderr.contains(
            "warning: 1000 customers pay in JPY (first: C000003), but no product has a price in JPY"
        ),
        "{check:?}"
    );
    let send = workspace.xsell(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
    assert_eq!(send.code, 0, "{send:?}");
    let first = report(&send);
    assert_eq!(first["failed"], 0, "{send:?}");
    let skipped = first["skipped"]["no prices in JPY"].as_u64().unwrap_or(0);
    assert!(skipped > 0, "{send:?}");
    let again = workspace.xsell(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
    assert_eq!(report(&again)["failed"], 0, "{again:?}");
    assert!(
        report(&again)["skipped"]["no prices in JPY"].is_null(),
        "recorded once: {again:?}"
    );

    // A code that is no currency at all is a located data error.
    set_customer_currency(&workspace, "XYZ", 7);
    let check = workspace.xsell(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stderr.contains(
            "customers.csv:8: invalid currency `XYZ`: expected an ISO 4217 code like USD"
        ),
        "{check:?}"
    );
}

#[test]
fn an_amount_off_in_no_currency_is_refused() {
    let workspace = Workspace::example();
    let path = format!("campaigns/{CAMPAIGN}.yaml");
    let yaml = workspace.read(&path);
    let percent = yaml.lines().find(|l| l.contains("percent_off:")).unwrap();
    workspace.write(&path, &yaml.replace(percent, "  amount_off: {XYZ: 5}"));
    let run = workspace.xsell(&["check", CAMPAIGN]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("amount_off: `XYZ` is not a currency code like USD"),
        "{run:?}"
    );
}

/// The server refusing our credentials (535) stops the run at once with a
/// clear message, instead of being retried as a passing problem.
#[test]
fn refused_credentials_stop_the_send_at_once() {
    use crate::peers::{self, Flaky};
    let server = peers::flaky_server(Flaky {
        refuse_auth: true,
        ..Flaky::default()
    });
    let workspace = Workspace::example();
    let config = workspace.read("xsell.toml").replace(
        "kind = \"outbox\"",
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername_env = \"XSELL_TEST_SMTP_USER\"\npassword_env = \"XSELL_TEST_SMTP_PASSWORD\"",
            server.port
        ),
    );
    let config = config.replace("dir = \"outbox\"\n", "");
    workspace.write("xsell.toml", &config);
    let started = std::time::Instant::now();
    let mut command = workspace.command(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
    command
        .env("XSELL_TEST_SMTP_USER", "shop")
        .env("XSELL_TEST_SMTP_PASSWORD", "wrong");
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 2, "{run:?}");
    let report = report(&run);
    let stopped = report["stopped"]
        .as_str()
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(
        stopped.contains("refused the credentials") && stopped.contains("535"),
        "{stopped}"
    );
    assert!(stopped.contains("username_env"), "{stopped}");
    let failed = report["failed"].as_u64().unwrap();
    assert!(
        (1..=4).contains(&failed),
        "one try per connection at most: {run:?}"
    );
    assert_eq!(report["sent"], 0);
    println!(
        "refused credentials stopped the send after {:?}",
        started.elapsed()
    );
}

/// Every header line of every message stays within RFC 5322's 998
/// characters, whatever the length of the names in the data.
#[test]
fn long_names_never_make_a_header_line_longer_than_998() {
    let workspace = Workspace::example();
    let customers = planned_customers(&workspace);
    let long = [
        "Ab".repeat(50_000),
        "Élodie ".repeat(3_000),
        "x".repeat(997),
    ];
    let text = workspace.read("fixtures/customers.csv");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (victim, name) in customers.iter().take(3).zip(&long) {
        let line = lines
            .iter_mut()
            .find(|l| l.starts_with(&format!("{victim},")))
            .unwrap();
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        fields[2] = name.clone();
        *line = fields.join(",");
    }
    workspace.write("fixtures/customers.csv", &(lines.join("\n") + "\n"));
    let run = workspace.xsell(&["--now", NOW, "send", CAMPAIGN]);
    assert_eq!(run.code, 0, "{run:?}");
    for victim in customers.iter().take(3) {
        let folder = workspace.path().join("outbox").join(CAMPAIGN);
        let file = std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{victim}_"))
            })
            .unwrap();
        let eml = std::fs::read(file.path()).unwrap();
        let head_end = eml.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        // Line lengths without the CRLF, as RFC 5322 counts them.
        let longest = |bytes: &[u8]| {
            bytes
                .split(|b| *b == b'\n')
                .map(|line| line.strip_suffix(b"\r").unwrap_or(line).len())
                .max()
                .unwrap()
        };
        assert!(
            longest(&eml[..head_end]) <= 998,
            "{victim}: a header line of {}",
            longest(&eml[..head_end])
        );
        assert!(
            longest(&eml) <= 998,
            "{victim}: a line of {}",
            longest(&eml)
        );
    }
}

/// With `--format json`, everything on stderr is JSON too, one line each,
/// and CR/LF from the data cannot start a line of its own.
#[test]
fn with_format_json_errors_and_notes_are_json_lines() {
    let workspace = Workspace::example();
    let json_lines = |stderr: &str| -> Vec<serde_json::Value> {
        stderr
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|_| panic!("not JSON: {line:?}\n{stderr}"))
            })
            .collect()
    };
    // A note (a new ledger), then a usage error.
    let run = workspace.xsell(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
    assert_eq!(run.code, 0, "{run:?}");
    let notes = json_lines(&run.stderr);
    assert_eq!(notes[0]["level"], "note", "{run:?}");
    let run = workspace.xsell(&["--format", "json", "send", "no-such-campaign"]);
    assert_eq!(run.code, 1, "{run:?}");
    let errors = json_lines(&run.stderr);
    assert_eq!(
        (errors[0]["level"].as_str(), errors[0]["kind"].as_str()),
        (Some("error"), Some("usage"))
    );

    // A located file problem whose data carries CR/LF.
    let catalog = workspace.read("fixtures/catalog.csv");
    let mut lines: Vec<String> = catalog.lines().map(str::to_string).collect();
    let mut fields: Vec<String> = lines[2].split(',').map(str::to_string).collect();
    fields[4] = "\"12\r\n{\"\"forged\"\": true}\"".into();
    lines[2] = fields.join(",");
    workspace.write("fixtures/catalog.csv", &(lines.join("\n") + "\n"));
    let run = workspace.xsell(&["--now", NOW, "--format", "json", "run"]);
    assert_eq!(run.code, 1, "{run:?}");
    let errors = json_lines(&run.stderr);
    assert_eq!(errors.len(), 1, "{run:?}");
    assert_eq!(errors[0]["kind"], "files");
    assert_eq!(errors[0]["problems"][0]["line"], 3, "{run:?}");
    assert!(
        errors[0]["problems"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("catalog.csv")
    );

    // A panic caught by the send loop is reported as a JSON line too.
    let fresh = Workspace::example();
    let mut command = fresh.command(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
    command.env("XSELL_FAULT", "render:*");
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 2, "{run:?}");
    let lines = json_lines(&run.stderr);
    assert!(
        lines
            .iter()
            .all(|l| l["level"] == "panic" || l["level"] == "note"),
        "{run:?}"
    );
    assert!(lines.iter().any(|l| l["level"] == "panic"), "{run:?}");
}

/// A cron line that never fires, and a template that extends a file that
/// is not one, are located errors.
#[test]
fn a_cron_line_that_never_fires_and_a_missing_parent_template_are_located() {
    let workspace = Workspace::example();
    let path = format!("campaigns/{CAMPAIGN}.yaml");
    let yaml = workspace.read(&path);
    let line = yaml
        .lines()
        .position(|l| l.starts_with("schedule:"))
        .unwrap()
        + 1;
    let schedule = yaml.lines().nth(line - 1).unwrap().to_string();
    workspace.write(&path, &yaml.replace(&schedule, "schedule: \"0 0 31 2 *\""));
    let run = workspace.xsell(&["check", CAMPAIGN]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "{path}:{line}:11: the cron line `0 0 31 2 *` never fires"
        )),
        "{run:?}"
    );
    workspace.write(&path, &yaml.replace(&schedule, "schedule: \"0 9 29 2 *\""));
    assert_eq!(
        workspace.xsell(&["check", CAMPAIGN]).code,
        0,
        "a leap day fires"
    );

    workspace.write(&path, &yaml);
    let template = yaml
        .lines()
        .find_map(|l| l.strip_prefix("template: "))
        .unwrap()
        .trim()
        .to_string();
    workspace.write(
        &format!("templates/{template}"),
        "{% extends \"/etc/passwd\" %}\n",
    );
    let run = workspace.xsell(&["check", CAMPAIGN]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!("templates/{template}:1:12: Template '{template}' is inheriting from '/etc/passwd', which doesn't exist or isn't loaded")),
        "{run:?}"
    );
}

/// Addresses a mail server would refuse are located data errors.
#[test]
fn undeliverable_looking_addresses_are_located_errors() {
    for bad in ["a@-example.com", "a@ex_ample.com", "a@[127.0.0.1]"] {
        let workspace = Workspace::example();
        let customers = workspace.read("fixtures/customers.csv");
        let mut lines: Vec<String> = customers.lines().map(str::to_string).collect();
        let mut fields: Vec<String> = lines[4].split(',').map(str::to_string).collect();
        fields[1] = bad.into();
        lines[4] = fields.join(",");
        workspace.write("fixtures/customers.csv", &(lines.join("\n") + "\n"));
        let run = workspace.xsell(&["check"]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr
                .contains(&format!("customers.csv:5: invalid email `{bad}`")),
            "{run:?}"
        );
    }
}

/// A panic before the claim (in the send loop) or while a batch is being
/// prepared (outside any one message's rendering) is accounted for too:
/// exit 2, nothing reported sent that was not, and a rerun completes.
#[test]
fn a_panic_at_the_claim_or_between_messages_is_accounted_for() {
    for stage in ["claim", "batch"] {
        let workspace = Workspace::example();
        let customers = planned_customers(&workspace);
        let victim = &customers[customers.len() / 2];
        let run = send_with_fault(&workspace, &format!("{stage}:{victim}"));
        assert_eq!(run.code, 2, "{stage}: {run:?}");
        let first = report(&run);
        let sent = first["sent"].as_u64().unwrap() as usize;
        assert!(sent < customers.len(), "{stage}: {run:?}");
        let ledger = ledger(&workspace);
        let recorded = ledger
            .messages_in_state(Some(CAMPAIGN), State::Sent)
            .unwrap()
            .len();
        assert_eq!(recorded, sent, "{stage}");
        assert_eq!(eml_count(&workspace), sent, "{stage}");
        if stage == "batch" {
            let stopped = first["stopped"]
                .as_str()
                .unwrap_or_else(|| panic!("{run:?}"));
            assert!(
                stopped.contains("rendering stopped: internal error"),
                "{stopped}"
            );
        } else {
            assert_eq!(first["failed"], 1, "{run:?}");
        }
        let again = workspace.xsell(&["--now", NOW, "--format", "json", "send", CAMPAIGN]);
        assert_eq!(again.code, 0, "{stage}: {again:?}");
        assert_eq!(
            report(&again)["sent"].as_u64().unwrap() as usize,
            customers.len() - sent,
            "{stage}"
        );
        assert_eq!(eml_count(&workspace), customers.len(), "{stage}");
    }
}

/// A panic while handing a message to a real SMTP server fails that message;
/// the worker's connection is dropped and the rest still arrive.
#[test]
fn a_transport_panic_over_smtp_fails_one_message_and_the_rest_arrive() {
    let sink = crate::peers::smtp_sink();
    let workspace = Workspace::example();
    let customers = planned_customers(&workspace);
    let victim = &customers[3];
    let mut command = workspace.command(&[
        "--now",
        NOW,
        "--format",
        "json",
        "send",
        CAMPAIGN,
        "--transport",
        &sink.url(),
    ]);
    command.env("XSELL_FAULT", format!("transport:{victim}"));
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 2, "{run:?}");
    let first = report(&run);
    assert_eq!(first["failed"], 1, "{run:?}");
    assert_eq!(
        first["sent"].as_u64().unwrap() as usize,
        customers.len() - 1
    );
    assert_eq!(sink.wait_for(customers.len() - 1), customers.len() - 1);
}
