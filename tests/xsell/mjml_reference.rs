//! xsell's MJML (mrml, in process) against the reference compiler, Node's
//! `mjml` 4 (installed by `.ci/run` into `.ci/mjml`, or named by
//! `XSELL_MJML`): each template of `tests/fixtures/mjml/` is compiled by both
//! and what a reader gets must agree — the same links, the same image
//! sources, the same visible text, and the styles of `<mj-style
//! inline="inline">` written into the elements. The templates exercise
//! `mj-style inline`, `mj-attributes`, `mj-class`, `mj-include`, `mj-raw`,
//! `mj-font`, `mj-hero`, `mj-navbar`, `mj-social`, `mj-accordion`,
//! `mj-carousel`, `mj-table`, `mj-wrapper` and `mj-group`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use xsell::render::mjml::Converter;

fn fixtures() -> PathBuf {
    crate::support::repo().join("tests/fixtures/mjml")
}

/// The reference compiler: `XSELL_MJML`, or the one `.ci/run` installs.
fn reference() -> PathBuf {
    let path = std::env::var_os("XSELL_MJML")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::support::repo().join(".ci/mjml/node_modules/.bin/mjml"));
    assert!(
        path.is_file(),
        "the reference MJML compiler is not at {} (run .ci/run, or `npm install --prefix .ci/mjml mjml@4`)",
        path.display()
    );
    path
}

fn theirs(file: &Path) -> String {
    let output = std::process::Command::new(reference())
        .arg(file)
        .args(["-s", "--config.validationLevel=skip"])
        .output()
        .expect("run mjml");
    assert!(
        output.status.success(),
        "mjml failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn ours(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    Converter::with_includes(&fixtures())
        .html(&text)
        .unwrap_or_else(|problem| panic!("{}: {problem:?}", file.display()))
}

/// `name="…"` values of every tag, `&amp;` decoded.
fn attribute_values(html: &str, name: &str) -> BTreeSet<String> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let start = at + needle.len();
            let end = start + html[start..].find('"')?;
            Some(decode(&html[start..end]))
        })
        .filter(|value| !value.is_empty() && !value.starts_with('#'))
        .collect()
}

fn decode(text: &str) -> String {
    let mut out = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'");
    while let Some(at) = out.find("&#") {
        let Some(length) = out[at..].find(';') else {
            break;
        };
        let code = &out[at + 2..at + length];
        let value = code
            .strip_prefix('x')
            .map_or_else(
                || code.parse::<u32>().ok(),
                |hex| u32::from_str_radix(hex, 16).ok(),
            )
            .and_then(char::from_u32)
            .unwrap_or(' ');
        out.replace_range(at..at + length + 1, &value.to_string());
    }
    out.replace("&amp;", "&")
}

/// What a reader sees: the body without comments (Outlook's conditional
/// blocks), styles and tags; entities decoded; one space between words.
fn visible_text(html: &str) -> String {
    let body = html
        .split_once("<body")
        .and_then(|(_, b)| b.split_once('>'))
        .map_or(html, |(_, b)| b);
    let mut text = String::new();
    let mut rest = body;
    loop {
        let next = [rest.find("<!--"), rest.find("<style"), rest.find('<')]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next else {
            text.push_str(rest);
            break;
        };
        text.push_str(&rest[..at]);
        text.push(' ');
        let tail = &rest[at..];
        let skip = if tail.starts_with("<!--") {
            tail.find("-->").map(|e| e + 3)
        } else if tail.starts_with("<style") {
            tail.find("</style>").map(|e| e + 8)
        } else {
            tail.find('>').map(|e| e + 1)
        };
        rest = &tail[skip.unwrap_or(tail.len())..];
    }
    decode(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a style attribute carries `declaration`.
fn inlined(html: &str, declaration: &str) -> bool {
    html.split("style=\"").skip(1).any(|attribute| {
        attribute
            .split('"')
            .next()
            .unwrap_or("")
            .replace(' ', "")
            .contains(declaration)
    })
}

#[test]
fn what_a_reader_gets_matches_the_reference_compiler() {
    let mut compared = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_none_or(|x| x != "mjml") {
            continue;
        }
        let (reference, xsell) = (theirs(&file), ours(&file));
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            attribute_values(&xsell, "href"),
            attribute_values(&reference, "href"),
            "{name}: links"
        );
        assert_eq!(
            attribute_values(&xsell, "src"),
            attribute_values(&reference, "src"),
            "{name}: image sources"
        );
        assert_eq!(
            visible_text(&xsell),
            visible_text(&reference),
            "{name}: visible text"
        );
        if std::fs::read_to_string(&file)
            .unwrap()
            .contains("inline=\"inline\"")
        {
            for html in [&reference, &xsell] {
                assert!(
                    inlined(html, "color:#d0021b"),
                    "{name}: the inline style is not inlined"
                );
            }
        }
        compared += 1;
    }
    assert!(compared >= 3, "only {compared} templates compared");
}
