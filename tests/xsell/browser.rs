//! A real headless Chromium for the tests, driven over the W3C WebDriver
//! protocol by Debian's `chromedriver` (packages `chromium` and
//! `chromium-driver`, installed by `.ci/run`). Only what the tests use:
//! navigate, run a script, find, click, type, screenshot. A fresh profile
//! per browser; nothing leaves 127.0.0.1 (other hosts do not resolve;
//! background networking, sync, component updates and QUIC are off). Missing programs fail the test with
//! what to install.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The element reference key of the WebDriver protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    pub fn start(width: u32, height: u32) -> Browser {
        Browser::start_with(width, height, true)
    }

    /// [`Browser::start`] with the pages' JavaScript off (`javascript:
    /// false`): what a page must work without. (WebDriver's own commands
    /// still run.)
    pub fn start_with(width: u32, height: u32, javascript: bool) -> Browser {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: apt-get install chromium chromium-driver (.ci/run does)"
            );
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = crate::peers::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "prefs": { "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 } },
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--hide-scrollbars",
                        // Every other host fails without a DNS lookup: the messages'
                        // product images point at the shop's site.
                        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                        format!("--window-size={width},{height}"),
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                }
            }}
        });
        let answer = post(&http, &format!("{base}/session"), &capabilities);
        let session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn command(&self, path: &str, body: Value) -> Value {
        post(&self.http, &self.url(path), &body)
    }

    pub fn goto(&self, url: &str) {
        self.command("/url", json!({ "url": url }));
    }

    pub fn current_url(&self) -> String {
        let answer: Value = self.http.get(self.url("/url")).send().unwrap().json_value();
        answer.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.command("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// The first element matching `css`, if any.
    pub fn try_find(&self, css: &str) -> Option<String> {
        let answer = self.execute(
            "return document.querySelector(arguments[0]);",
            vec![json!(css)],
        );
        answer[ELEMENT].as_str().map(str::to_string)
    }

    pub fn find(&self, css: &str) -> String {
        self.try_find(css)
            .unwrap_or_else(|| panic!("no element `{css}` on {}", self.current_url()))
    }

    pub fn click(&self, element: &str) {
        self.command(&format!("/element/{element}/click"), json!({}));
    }

    pub fn clear(&self, element: &str) {
        self.command(&format!("/element/{element}/clear"), json!({}));
    }

    pub fn type_into(&self, element: &str, text: &str) {
        self.command(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// The text of the first element matching `css` ("" when none).
    pub fn text(&self, css: &str) -> String {
        self.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            vec![json!(css)],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The text of the document inside the iframe `css` (as written, before CSS capitalises it).
    pub fn frame_text(&self, css: &str) -> String {
        self.execute(
            "const f = document.querySelector(arguments[0]);
             return f && f.contentDocument && f.contentDocument.body ? f.contentDocument.body.textContent : '';",
            vec![json!(css)],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// A PNG of the whole viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let answer: Value = self
            .http
            .get(self.url("/screenshot"))
            .send()
            .unwrap()
            .json_value();
        decode_png(&answer)
    }

    /// A PNG of one element (scrolled into view).
    pub fn element_screenshot(&self, element: &str) -> Vec<u8> {
        let answer: Value = self
            .http
            .get(self.url(&format!("/element/{element}/screenshot")))
            .send()
            .unwrap()
            .json_value();
        decode_png(&answer)
    }

    /// Polls `check` until it gives a value, or fails after `timeout` saying `what`.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Browser) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what} on {}",
                self.current_url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn post(http: &reqwest::blocking::Client, url: &str, body: &Value) -> Value {
    http.post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap_or_else(|e| panic!("WebDriver {url}: {e}"))
        .json_value()
}

trait JsonValue {
    /// The `value` of a WebDriver answer; an error answer fails the test.
    fn json_value(self) -> Value;
}

impl JsonValue for reqwest::blocking::Response {
    fn json_value(self) -> Value {
        let status = self.status();
        let text = self.text().unwrap();
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("WebDriver answered {status} with non-JSON ({e}): {text}"));
        assert!(
            status.is_success(),
            "WebDriver error {status}: {}",
            answer["value"]
        );
        answer["value"].clone()
    }
}

fn decode_png(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().expect("base64 screenshot"))
        .expect("valid base64")
}

/// What a screenshot holds: its size, how many distinct colours, and the
/// share of pixels that differ from the most common colour (the background).
#[derive(Debug)]
pub struct PixelSummary {
    pub width: u32,
    pub height: u32,
    pub colours: usize,
    pub foreground_share: f64,
}

pub fn pixel_summary(png_bytes: &[u8]) -> PixelSummary {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buffer).expect("PNG frame");
    let channels = info.color_type.samples();
    let pixels = &buffer[..info.buffer_size()];
    let mut counts: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for pixel in pixels.chunks_exact(channels) {
        *counts.entry(pixel).or_default() += 1;
    }
    let total = (info.width * info.height) as usize;
    let background = counts.values().copied().max().unwrap_or(0);
    PixelSummary {
        width: info.width,
        height: info.height,
        colours: counts.len(),
        foreground_share: (total - background) as f64 / total.max(1) as f64,
    }
}
