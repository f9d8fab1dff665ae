//! The fast path: mrml and html2text run once per message *shape*, and each
//! message fills its values into the compiled result.
//!
//! **Why.** Turning MJML into HTML is ~90% of the cost of a message, yet two
//! customers of a campaign usually get the same MJML except for the values
//! in it (names, prices, links). So:
//!
//! 1. Tera renders the MJML of every message as usual, with an escape
//!    function that also *records* where each escaped value landed in the
//!    output ([`recording_escape`], [`Recording`]). The output itself is
//!    byte for byte what Tera writes without recording. (Tera writes
//!    numbers without escaping them: they stay fixed text, which is why the
//!    context offers formatted texts like `reviews` next to numbers.)
//! 2. Each recorded value that is safe to move around (see [`slot_value`])
//!    is replaced by a numbered token; the result is the message's
//!    *skeleton*, the key of a cache.
//! 3. On a miss the skeleton goes through the normal pipeline once (mrml →
//!    line breaks → html2text), and the HTML and text are cut at the tokens
//!    into static parts and slots ([`Compiled`]).
//! 4. Every message with that skeleton is then its static parts with its
//!    own values in the slots: escaped values in the HTML, plain ones in
//!    the text.
//!
//! **Why it is exact.** Control flow, filters and everything else Tera does
//! is still done per message, on the real values; only the MJML → HTML → text
//! steps are shared, and those copy the text of a value through unchanged —
//! provided the value holds nothing they would treat specially (no
//! whitespace but single inner spaces, no control characters, nothing
//! html2text drops), which [`slot_value`] checks, leaving any other value in
//! the skeleton as fixed text. Values written inside a capture (`{% set %}`
//! blocks, component bodies) are not recorded and stay fixed text too, so
//! filters applied to captured text see exactly what they would see
//! without recording. Finally, the first message of every skeleton is also
//! rendered the straightforward way and compared with the filled result;
//! a skeleton whose fill differs (say, a value used as an mrml width) is
//! remembered as "always render straightforwardly". The tests compare both
//! paths over every example campaign and hundreds of customers.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::{Arc, RwLock};

thread_local! {
    /// Odd while [`recording_escape`] is writing, even otherwise; each call
    /// gets its own odd number so adjacent values stay apart.
    static ESCAPE_CALL: Cell<u64> = const { Cell::new(0) };
}

/// Tera's HTML escaping (the same bytes as [`tera::escape_html`]), telling a
/// [`Recording`] on the same thread which bytes are an escaped value.
pub fn recording_escape(input: &str, out: &mut dyn Write) -> io::Result<()> {
    ESCAPE_CALL.with(|call| call.set(call.get() + 1));
    let result = tera::escape_html(input, out);
    ESCAPE_CALL.with(|call| call.set(call.get() + 1));
    result
}

/// A Tera output that remembers where the escaped values are.
#[derive(Debug, Default)]
pub struct Recording {
    pub output: Vec<u8>,
    /// Byte ranges of escaped values in `output`, in order.
    pub values: Vec<Range<usize>>,
    last_call: u64,
}

impl Write for Recording {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let call = ESCAPE_CALL.with(Cell::get);
        let start = self.output.len();
        self.output.extend_from_slice(bytes);
        if call % 2 == 1 && !bytes.is_empty() {
            match self.values.last_mut() {
                Some(range) if self.last_call == call => range.end = self.output.len(),
                _ => self.values.push(start..self.output.len()),
            }
            self.last_call = call;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const SLOT_OPEN: char = '\u{FDD2}';
const SLOT_CLOSE: char = '\u{FDD3}';

/// Whether a text holds one of the characters tokens are made of (then it
/// cannot be cut into a skeleton unambiguously).
pub fn has_token_characters(text: &str) -> bool {
    text.contains(SLOT_OPEN) || text.contains(SLOT_CLOSE)
}

/// The plain text of an escaped value when it may become a slot: it must
/// be non-empty, be exactly what Tera's escaping writes, and hold nothing
/// HTML or html2text would change — no control characters, no whitespace
/// but single spaces between other characters (no-break spaces are fine),
/// no zero-width space, no noncharacters.
pub fn slot_value(escaped: &str) -> Option<Cow<'_, str>> {
    if escaped.is_empty() {
        return None;
    }
    let plain = unescape(escaped)?;
    let mut previous_space = true; // no leading space
    for c in plain.chars() {
        let ok = match c {
            ' ' => !previous_space,
            '\u{a0}' => true,
            '\u{200B}' | '\u{FDD0}'..='\u{FDEF}' | '\u{FFFE}' | '\u{FFFF}' => false,
            c => !c.is_control() && !c.is_whitespace(),
        };
        if !ok {
            return None;
        }
        previous_space = c == ' ';
    }
    (!previous_space).then_some(plain)
}

/// The inverse of Tera's escaping; `None` for text it could not have written.
fn unescape(escaped: &str) -> Option<Cow<'_, str>> {
    if !escaped.contains('&') {
        return Some(Cow::Borrowed(escaped));
    }
    let mut plain = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(at) = rest.find('&') {
        plain.push_str(&rest[..at]);
        rest = &rest[at..];
        let (c, length) = [
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
            ("&#39;", '\''),
        ]
        .iter()
        .find(|(entity, _)| rest.starts_with(entity))
        .map(|(entity, c)| (*c, entity.len()))?;
        plain.push(c);
        rest = &rest[length..];
    }
    plain.push_str(rest);
    Some(Cow::Owned(plain))
}

/// A message cut into its skeleton and its values.
#[derive(Debug)]
pub struct Cut<'a> {
    /// The MJML with a token in place of each slot value.
    pub skeleton: String,
    /// Per slot: the value as escaped in the MJML, and as plain text.
    pub values: Vec<(&'a str, Cow<'a, str>)>,
}

/// Cuts Tera's output into skeleton and values; `None` when the output
/// holds token characters of its own.
pub fn cut<'a>(mjml: &'a str, values: &[Range<usize>]) -> Option<Cut<'a>> {
    if has_token_characters(mjml) {
        return None;
    }
    let mut skeleton = String::with_capacity(mjml.len());
    let mut slots = Vec::with_capacity(values.len());
    let mut copied = 0;
    for range in values {
        let escaped = mjml.get(range.clone())?;
        if let Some(plain) = slot_value(escaped) {
            skeleton.push_str(&mjml[copied..range.start]);
            push_token(&mut skeleton, slots.len());
            slots.push((escaped, plain));
            copied = range.end;
        }
    }
    skeleton.push_str(&mjml[copied..]);
    Some(Cut {
        skeleton,
        values: slots,
    })
}

fn push_token(out: &mut String, slot: usize) {
    out.push(SLOT_OPEN);
    out.push_str(&slot.to_string());
    out.push(SLOT_CLOSE);
}

/// A text cut at its tokens: static parts and slot numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    statics: String,
    parts: Vec<Part>,
    static_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Static(u32, u32),
    Slot(u32),
}

impl Pattern {
    /// Cuts `text` at its tokens; `None` if a token is broken or names a
    /// slot that does not exist.
    pub fn parse(text: &str, slot_count: usize) -> Option<Pattern> {
        let mut statics = String::with_capacity(text.len());
        let mut parts = Vec::new();
        let mut rest = text;
        let push_static = |statics: &mut String, parts: &mut Vec<Part>, piece: &str| {
            if !piece.is_empty() {
                let start = statics.len() as u32;
                statics.push_str(piece);
                parts.push(Part::Static(start, statics.len() as u32));
            }
        };
        while let Some(open) = rest.find(SLOT_OPEN) {
            let before = &rest[..open];
            if before.contains(SLOT_CLOSE) {
                return None;
            }
            push_static(&mut statics, &mut parts, before);
            rest = &rest[open + SLOT_OPEN.len_utf8()..];
            let close = rest.find(SLOT_CLOSE)?;
            let slot: usize = rest[..close].parse().ok()?;
            if slot >= slot_count || rest[..close].starts_with('+') {
                return None;
            }
            parts.push(Part::Slot(slot as u32));
            rest = &rest[close + SLOT_CLOSE.len_utf8()..];
        }
        if rest.contains(SLOT_CLOSE) {
            return None;
        }
        push_static(&mut statics, &mut parts, rest);
        let static_len = statics.len();
        Some(Pattern {
            statics,
            parts,
            static_len,
        })
    }

    /// The text with `value(slot)` in each slot.
    pub fn fill<'v>(&self, value: impl Fn(usize) -> &'v str) -> String {
        let mut length = self.static_len;
        for part in &self.parts {
            if let Part::Slot(slot) = part {
                length += value(*slot as usize).len();
            }
        }
        let mut out = String::with_capacity(length);
        for part in &self.parts {
            match *part {
                Part::Static(start, end) => out.push_str(&self.statics[start as usize..end as usize]),
                Part::Slot(slot) => out.push_str(value(slot as usize)),
            }
        }
        out
    }
}

/// The HTML and text of a skeleton, ready to be filled.
#[derive(Debug)]
pub struct Compiled {
    /// The final HTML (line breaks and CRLF applied), values escaped.
    pub html: Pattern,
    /// html2text's output, before [`super::text::finish`], values plain.
    pub text: Pattern,
}

impl Compiled {
    /// HTML and (unfinished) text of a message cut as `cut`.
    pub fn fill(&self, cut: &Cut<'_>) -> (String, String) {
        let html = self.html.fill(|slot| cut.values[slot].0);
        let text = self.text.fill(|slot| cut.values[slot].1.as_ref());
        (html, text)
    }
}

/// What the cache knows about a skeleton.
#[derive(Debug)]
pub enum Entry {
    Fill(Compiled),
    /// Filling did not reproduce the straightforward result: render messages
    /// of this skeleton the straightforward way.
    Straightforward,
}

/// Compiled skeletons of one campaign, shared by the threads rendering it.
#[derive(Debug)]
pub struct Cache {
    entries: RwLock<HashMap<Box<str>, Arc<Entry>, ahash::RandomState>>,
    capacity: usize,
}

impl Cache {
    /// A cache holding at most `capacity` skeletons; later ones are not kept
    /// (their messages are rendered the straightforward way).
    pub fn new(capacity: usize) -> Cache {
        Cache {
            entries: RwLock::new(HashMap::default()),
            capacity,
        }
    }

    pub fn get(&self, skeleton: &str) -> Option<Arc<Entry>> {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(skeleton)
            .cloned()
    }

    pub fn insert(&self, skeleton: String, entry: Entry) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() < self.capacity {
            entries.insert(skeleton.into_boxed_str(), Arc::new(entry));
        }
    }

    /// (skeletons that fill, skeletons rendered straightforwardly).
    pub fn counts(&self) -> (usize, usize) {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let fill = entries
            .values()
            .filter(|e| matches!(***e, Entry::Fill(_)))
            .count();
        (fill, entries.len() - fill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(template: &str, name: &str) -> Recording {
        let mut tera = tera::Tera::new();
        tera.autoescape_on(vec![".mjml"]);
        tera.set_escape_fn(recording_escape);
        tera.add_raw_template("t.mjml", template).unwrap();
        let mut context = tera::Context::new();
        context.insert("name", name);
        context.insert("n", &3);
        let mut recording = Recording::default();
        tera.render_to("t.mjml", &context, &mut recording).unwrap();
        recording
    }

    fn texts(recording: &Recording) -> Vec<&str> {
        recording
            .values
            .iter()
            .map(|r| std::str::from_utf8(&recording.output[r.clone()]).unwrap())
            .collect()
    }

    #[test]
    fn records_escaped_values_and_writes_what_tera_writes() {
        let template = "<p>{{ name }}{{ n }}</p>{% set x %}[{{ name }}]{% endset %}{{ x | upper }}|{{ name | safe }}";
        let recording = recorded(template, "Tom & <Jerry>");
        let plain = tera::Tera::one_off(template, &{
            let mut c = tera::Context::new();
            c.insert("name", "Tom & <Jerry>");
            c.insert("n", &3);
            c
        }, true)
        .unwrap();
        assert_eq!(String::from_utf8(recording.output.clone()).unwrap(), plain);
        assert_eq!(
            texts(&recording),
            ["Tom &amp; &lt;Jerry&gt;"],
            "numbers are written unescaped, captured and `safe` output is not a value: all fixed text"
        );
        let recording = recorded("{{ name }}{{ name | upper }}", "a");
        assert_eq!(texts(&recording), ["a", "A"], "adjacent values stay apart");
    }

    #[test]
    fn slot_values_are_those_html_and_text_copy_unchanged() {
        assert_eq!(slot_value("Tom &amp; Jerry&#39;s").as_deref(), Some("Tom & Jerry's"));
        assert_eq!(slot_value("17,00\u{a0}€").as_deref(), Some("17,00\u{a0}€"));
        for refused in ["", " lead", "trail ", "a  b", "a\tb", "1\u{202f}234", "a\u{200b}b", "&amp", "&nbsp;", "x\u{FDD2}"] {
            assert_eq!(slot_value(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn cut_and_fill_round_trip() {
        let recording = recorded("<mj-text>Hi {{ name }}, {{ n }} for {{ name | lower }}</mj-text>", "Ana &amp; Bo");
        let mjml = String::from_utf8(recording.output.clone()).unwrap();
        let cut = cut(&mjml, &recording.values).unwrap();
        assert_eq!(cut.skeleton, "<mj-text>Hi \u{FDD2}0\u{FDD3}, 3 for \u{FDD2}1\u{FDD3}</mj-text>");
        let pattern = Pattern::parse(&cut.skeleton, cut.values.len()).unwrap();
        assert_eq!(pattern.fill(|slot| cut.values[slot].0), mjml);
        assert_eq!(
            pattern.fill(|slot| cut.values[slot].1.as_ref()),
            "<mj-text>Hi Ana &amp; Bo, 3 for ana &amp; bo</mj-text>"
        );
    }

    #[test]
    fn broken_tokens_do_not_compile() {
        assert!(Pattern::parse("a\u{FDD2}0\u{FDD3}b", 1).is_some());
        assert!(Pattern::parse("a\u{FDD2}1\u{FDD3}b", 1).is_none(), "unknown slot");
        assert!(Pattern::parse("a\u{FDD2}0b", 1).is_none(), "unclosed");
        assert!(Pattern::parse("a\u{FDD3}b", 1).is_none(), "stray close");
        assert!(Pattern::parse("a\u{FDD2}x\u{FDD3}b", 1).is_none(), "not a number");
        assert!(cut("has \u{FDD2} already", &[]).is_none());
    }
}
