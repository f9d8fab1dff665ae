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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::mime::{self, Encoding};

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

/// Tokens are `⟦12⟧` (a value in text) or `⟦a12⟧` (in an attribute):
/// characters every step copies unchanged, Rust's `Debug` included.
const SLOT_OPEN: char = '⟦';
const SLOT_CLOSE: char = '⟧';

/// Whether a text holds one of the characters tokens are made of (then it
/// cannot be cut into a skeleton unambiguously). Both are `E2 9F A6/A7` in
/// UTF-8: one search for the first two bytes.
pub fn has_token_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, &[0xE2, 0x9F])
        .any(|at| matches!(bytes.get(at + 2), Some(0xA6 | 0xA7)))
}

/// Whether an escaped value may become a slot: it must be non-empty, be
/// exactly what Tera's escaping writes, and hold nothing HTML or html2text
/// would change — no control characters, no whitespace but single spaces
/// between other characters (no-break spaces are fine), no zero-width
/// space, no noncharacters. (The entities stand for `& < > " '`, none of
/// which is whitespace, so the escaped form can be checked as it is.)
pub fn is_slot_value(escaped: &str) -> bool {
    let bytes = escaped.as_bytes();
    if bytes.is_empty() || bytes[0] == b' ' || bytes[bytes.len() - 1] == b' ' {
        return false;
    }
    let mut index = 0;
    let mut previous_space = false;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b' ' if previous_space => return false,
            b' ' => {
                previous_space = true;
                index += 1;
                continue;
            }
            b'&' => {
                let Some(entity) = ENTITIES
                    .iter()
                    .find(|(e, _)| bytes[index..].starts_with(e.as_bytes()))
                else {
                    return false;
                };
                index += entity.0.len();
            }
            0x21..=0x7e => index += 1,
            0x80.. => {
                let Some(c) = escaped.get(index..).and_then(|rest| rest.chars().next()) else {
                    return false;
                };
                let ok = match c {
                    '\u{a0}' => true,
                    '\u{200B}' | '\u{FDD0}'..='\u{FDEF}' | '\u{FFFE}' | '\u{FFFF}' => false,
                    c => !c.is_control() && !c.is_whitespace(),
                };
                if !ok {
                    return false;
                }
                index += c.len_utf8();
            }
            _ => return false,
        }
        previous_space = false;
    }
    true
}

/// What Tera's escaping writes, and what for.
const ENTITIES: [(&str, char); 5] = [
    ("&amp;", '&'),
    ("&lt;", '<'),
    ("&gt;", '>'),
    ("&quot;", '"'),
    ("&#39;", '\''),
];

/// The plain text of an escaped slot value (the inverse of Tera's escaping).
pub fn plain(escaped: &str) -> Cow<'_, str> {
    if !escaped.contains('&') {
        return Cow::Borrowed(escaped);
    }
    let mut plain = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(at) = rest.find('&') {
        plain.push_str(&rest[..at]);
        rest = &rest[at..];
        match ENTITIES.iter().find(|(entity, _)| rest.starts_with(entity)) {
            Some((entity, c)) => {
                plain.push(*c);
                rest = &rest[entity.len()..];
            }
            None => {
                plain.push('&');
                rest = &rest[1..];
            }
        }
    }
    plain.push_str(rest);
    Cow::Owned(plain)
}

/// A message cut into its skeleton and its values.
#[derive(Debug)]
pub struct Cut<'a> {
    /// The MJML with a token in place of each slot value.
    pub skeleton: String,
    /// Per slot: the value as escaped in the MJML.
    pub values: Vec<&'a str>,
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
        if is_slot_value(escaped) {
            skeleton.push_str(&mjml[copied..range.start]);
            push_token(&mut skeleton, slots.len());
            slots.push(escaped);
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
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = slot;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
    out.push(SLOT_CLOSE);
}

/// Where a value sits in mrml's HTML, which decides how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// In text: as escaped (HTML) or plain (text part).
    Text,
    /// In an attribute, which mrml writes with Rust's `Debug` (backslashes
    /// doubled, invisible characters as `\u{…}`); html2text reads it back
    /// without the HTML escaping.
    Attribute,
}

/// Rust's `Debug` of a string, without the quotes: what mrml writes for
/// an attribute value.
pub fn debug_escape(value: &str) -> Cow<'_, str> {
    let plain_ascii = value.as_bytes().iter().fold(true, |ok, &b| {
        ok & (b' '..=b'~').contains(&b) & (b != b'\\') & (b != b'"')
    });
    if plain_ascii {
        return Cow::Borrowed(value);
    }
    let quoted = format!("{value:?}");
    Cow::Owned(quoted[1..quoted.len() - 1].to_string())
}

/// Rewrites the tokens mrml left inside quoted attribute values into their
/// attribute form (`⟦12⟧` → `⟦a12⟧`); `None` when a token sits anywhere else
/// but text (a comment, a tag name, an unquoted attribute).
pub fn mark_attributes(html: &str) -> Option<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum At {
        Text,
        Tag,
        Quoted(char),
        Comment,
    }
    let mut out = String::with_capacity(html.len() + 64);
    let mut at = At::Text;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == SLOT_OPEN {
            match at {
                At::Text => out.push(SLOT_OPEN),
                At::Quoted(_) => {
                    out.push(SLOT_OPEN);
                    out.push('a');
                }
                At::Tag | At::Comment => return None,
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let step = match at {
            At::Text if rest.starts_with("<!--") => {
                at = At::Comment;
                4
            }
            At::Text
                if c == '<'
                    && rest[1..]
                        .chars()
                        .next()
                        .is_some_and(|n| n.is_ascii_alphabetic() || n == '/' || n == '!') =>
            {
                at = At::Tag;
                1
            }
            At::Tag if c == '"' || c == '\'' => {
                at = At::Quoted(c);
                1
            }
            At::Tag if c == '>' => {
                at = At::Text;
                1
            }
            At::Quoted(quote) if c == quote => {
                at = At::Tag;
                1
            }
            At::Comment if rest.starts_with("-->") => {
                at = At::Text;
                3
            }
            _ => c.len_utf8(),
        };
        out.push_str(&rest[..step]);
        rest = &rest[step..];
    }
    Some(out)
}

/// A text cut at its tokens: static parts and slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    statics: String,
    parts: Vec<Part>,
    static_len: usize,
    /// Per static part, its lines (for the body encoding without a scan).
    lines: Vec<Lines>,
    /// Whether every line end of the static parts is CRLF, without NUL.
    well_formed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Static(u32, u32),
    Slot(u32, Form),
}

/// The line structure of a static part: octets before its first line end,
/// after its last, the longest line wholly inside it, whether it is ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lines {
    first: usize,
    last: usize,
    longest_inside: usize,
    breaks: bool,
    ascii: bool,
}

impl Lines {
    fn of(text: &str) -> Lines {
        let mut pieces = text.split("\r\n");
        let first = pieces.next().unwrap_or_default().len();
        let mut last = first;
        let mut longest_inside = 0;
        let mut breaks = false;
        for piece in pieces {
            if breaks {
                longest_inside = longest_inside.max(last);
            }
            breaks = true;
            last = piece.len();
        }
        Lines {
            first,
            last,
            longest_inside,
            breaks,
            ascii: text.is_ascii(),
        }
    }
}

impl Pattern {
    /// Cuts `text` at its tokens; `None` if a token is broken or names a
    /// slot that does not exist.
    pub fn parse(text: &str, slot_count: usize) -> Option<Pattern> {
        let mut statics = String::with_capacity(text.len());
        let mut parts = Vec::new();
        let mut lines = Vec::new();
        let mut rest = text;
        let mut push_static = |statics: &mut String, parts: &mut Vec<Part>, piece: &str| {
            if !piece.is_empty() {
                let start = statics.len() as u32;
                statics.push_str(piece);
                parts.push(Part::Static(start, statics.len() as u32));
                lines.push(Lines::of(piece));
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
            let (form, digits) = match rest[..close].strip_prefix('a') {
                Some(digits) => (Form::Attribute, digits),
                None => (Form::Text, &rest[..close]),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let slot: usize = digits.parse().ok()?;
            if slot >= slot_count {
                return None;
            }
            parts.push(Part::Slot(slot as u32, form));
            rest = &rest[close + SLOT_CLOSE.len_utf8()..];
        }
        if rest.contains(SLOT_CLOSE) {
            return None;
        }
        push_static(&mut statics, &mut parts, rest);
        let well_formed = !statics.contains('\0')
            && statics
                .match_indices('\n')
                .all(|(at, _)| at > 0 && statics.as_bytes()[at - 1] == b'\r')
            && statics
                .match_indices('\r')
                .all(|(at, _)| statics.as_bytes().get(at + 1) == Some(&b'\n'));
        Some(Pattern {
            static_len: statics.len(),
            statics,
            parts,
            lines,
            well_formed,
        })
    }

    /// The text with `value(slot, form)` in each slot.
    pub fn fill<'v>(&self, value: impl Fn(usize, Form) -> &'v str) -> String {
        let mut out = String::with_capacity(self.len(&value));
        for part in &self.parts {
            match *part {
                Part::Static(start, end) => {
                    out.push_str(&self.statics[start as usize..end as usize])
                }
                Part::Slot(slot, form) => out.push_str(value(slot as usize, form)),
            }
        }
        out
    }

    /// The length of the filled text.
    pub fn len<'v>(&self, value: impl Fn(usize, Form) -> &'v str) -> usize {
        let mut length = self.static_len;
        for part in &self.parts {
            if let Part::Slot(slot, form) = *part {
                length += value(slot as usize, form).len();
            }
        }
        length
    }

    /// Writes the filled text at the end of `out`.
    pub fn write<'v>(&self, out: &mut Vec<u8>, value: impl Fn(usize, Form) -> &'v str) {
        for part in &self.parts {
            match *part {
                Part::Static(start, end) => {
                    out.extend_from_slice(&self.statics.as_bytes()[start as usize..end as usize])
                }
                Part::Slot(slot, form) => {
                    out.extend_from_slice(value(slot as usize, form).as_bytes())
                }
            }
        }
    }

    /// The body encoding of the filled text (the same as
    /// [`mime::encoding_of`] on it), from the static parts' lines and the
    /// values, which have no line ends or control characters.
    pub fn encoding<'v>(&self, value: impl Fn(usize, Form) -> &'v str) -> Encoding {
        let mut line = 0;
        let mut longest = 0;
        let mut ascii = true;
        let mut lines = self.lines.iter();
        for part in &self.parts {
            match *part {
                Part::Static(..) => {
                    let Some(static_lines) = lines.next() else {
                        break;
                    };
                    ascii &= static_lines.ascii;
                    if static_lines.breaks {
                        longest = longest
                            .max(line + static_lines.first)
                            .max(static_lines.longest_inside);
                        line = static_lines.last;
                    } else {
                        line += static_lines.first;
                    }
                }
                Part::Slot(slot, form) => {
                    let value = value(slot as usize, form);
                    ascii &= value.is_ascii();
                    line += value.len();
                }
            }
        }
        longest = longest.max(line);
        if !self.well_formed || longest > mime::MAX_LINE {
            Encoding::QuotedPrintable
        } else if ascii {
            Encoding::SevenBit
        } else {
            Encoding::EightBit
        }
    }

    /// Every slot occurrence, with its form.
    fn slots(&self) -> impl Iterator<Item = (usize, Form)> + '_ {
        self.parts.iter().filter_map(|part| match *part {
            Part::Slot(slot, form) => Some((slot as usize, form)),
            Part::Static(..) => None,
        })
    }
}

/// The HTML and text of a skeleton, ready to be filled.
#[derive(Debug)]
pub struct Compiled {
    /// The final HTML (line breaks and CRLF applied), values escaped.
    pub html: Pattern,
    /// html2text's output, before [`super::text::finish`], values plain.
    pub text: Pattern,
    /// Per slot, the forms it is written in.
    needs: Vec<Needs>,
}

/// The forms of a slot value a message needs, besides the escaped one.
#[derive(Debug, Clone, Copy, Default)]
struct Needs {
    /// In an HTML attribute: `Debug` of the escaped value.
    html_attribute: bool,
    /// In the text: the plain value.
    text: bool,
    /// In the text from an attribute (a link): `Debug` of the plain value.
    text_attribute: bool,
}

impl Compiled {
    pub fn new(html: Pattern, text: Pattern, slot_count: usize) -> Compiled {
        let mut needs = vec![Needs::default(); slot_count];
        for (slot, form) in html.slots() {
            needs[slot].html_attribute |= form == Form::Attribute;
        }
        for (slot, form) in text.slots() {
            match form {
                Form::Text => needs[slot].text = true,
                Form::Attribute => needs[slot].text_attribute = true,
            }
        }
        Compiled { html, text, needs }
    }

    /// A message cut as `cut`, ready to be written out.
    pub fn filling<'c>(&'c self, cut: &'c Cut<'c>) -> Filling<'c> {
        let forms = cut
            .values
            .iter()
            .zip(&self.needs)
            .map(|(escaped, needs)| {
                let plain = (needs.text || needs.text_attribute).then(|| plain(escaped));
                Forms {
                    html_attribute: needs.html_attribute.then(|| debug_escape(escaped)),
                    text_attribute: match (&plain, needs.text_attribute) {
                        (Some(plain), true) => Some(Cow::Owned(debug_escape(plain).into_owned())),
                        _ => None,
                    },
                    plain,
                }
            })
            .collect();
        Filling {
            compiled: self,
            cut,
            forms,
        }
    }
}

/// A slot value in the forms a message needs.
struct Forms<'c> {
    plain: Option<Cow<'c, str>>,
    html_attribute: Option<Cow<'c, str>>,
    text_attribute: Option<Cow<'c, str>>,
}

/// One message's values for a compiled skeleton.
pub struct Filling<'c> {
    compiled: &'c Compiled,
    cut: &'c Cut<'c>,
    forms: Vec<Forms<'c>>,
}

impl Filling<'_> {
    fn html_value(&self, slot: usize, form: Form) -> &str {
        match form {
            Form::Text => self.cut.values[slot],
            Form::Attribute => self.forms[slot]
                .html_attribute
                .as_deref()
                .unwrap_or_default(),
        }
    }

    fn text_value(&self, slot: usize, form: Form) -> &str {
        let forms = &self.forms[slot];
        match form {
            Form::Text => forms.plain.as_deref().unwrap_or_default(),
            Form::Attribute => forms.text_attribute.as_deref().unwrap_or_default(),
        }
    }

    pub fn html(&self) -> String {
        self.compiled
            .html
            .fill(|slot, form| self.html_value(slot, form))
    }

    pub fn html_len(&self) -> usize {
        self.compiled
            .html
            .len(|slot, form| self.html_value(slot, form))
    }

    pub fn write_html(&self, out: &mut Vec<u8>) {
        self.compiled
            .html
            .write(out, |slot, form| self.html_value(slot, form));
    }

    pub fn html_encoding(&self) -> Encoding {
        self.compiled
            .html
            .encoding(|slot, form| self.html_value(slot, form))
    }

    /// The text part before [`super::text::finish`].
    pub fn text(&self) -> String {
        self.compiled
            .text
            .fill(|slot, form| self.text_value(slot, form))
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
    filled: AtomicU64,
}

/// How the fast path did for a campaign so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Skeletons compiled and filled.
    pub fill_skeletons: usize,
    /// Skeletons whose messages are rendered the straightforward way.
    pub straightforward_skeletons: usize,
    /// Messages made by filling a compiled skeleton.
    pub filled_messages: u64,
}

impl Cache {
    /// A cache holding at most `capacity` skeletons; later ones are not kept
    /// (their messages are rendered the straightforward way).
    pub fn new(capacity: usize) -> Cache {
        Cache {
            entries: RwLock::new(HashMap::default()),
            capacity,
            filled: AtomicU64::new(0),
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

    /// Counts a message made by filling.
    pub fn count_fill(&self) {
        self.filled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> Stats {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let fill_skeletons = entries
            .values()
            .filter(|e| matches!(***e, Entry::Fill(_)))
            .count();
        Stats {
            fill_skeletons,
            straightforward_skeletons: entries.len() - fill_skeletons,
            filled_messages: self.filled.load(Ordering::Relaxed),
        }
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
        let plain = tera::Tera::one_off(
            template,
            &{
                let mut c = tera::Context::new();
                c.insert("name", "Tom & <Jerry>");
                c.insert("n", &3);
                c
            },
            true,
        )
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
        assert!(is_slot_value("Tom &amp; Jerry&#39;s"));
        assert_eq!(
            plain("Tom &amp; Jerry&#39;s &lt;b&gt; &quot;"),
            "Tom & Jerry's <b> \""
        );
        assert!(is_slot_value("17,00\u{a0}€"));
        assert!(is_slot_value("Zoë ★ 日本"));
        for refused in [
            "",
            " lead",
            "trail ",
            "a  b",
            "a\tb",
            "1\u{202f}234",
            "a\u{200b}b",
            "&amp",
            "&nbsp;",
            "x\u{FDD2}",
            "a\u{85}b",
        ] {
            assert!(!is_slot_value(refused), "{refused:?}");
        }
        assert!(
            has_token_characters("a ⟧ b")
                && has_token_characters("⟦")
                && !has_token_characters("—★…")
        );
    }

    #[test]
    fn cut_and_fill_round_trip() {
        let recording = recorded(
            "<mj-text>Hi {{ name }}, {{ n }} for {{ name | lower }}</mj-text>",
            "Ana &amp; Bo",
        );
        let mjml = String::from_utf8(recording.output.clone()).unwrap();
        let cut = cut(&mjml, &recording.values).unwrap();
        assert_eq!(cut.skeleton, "<mj-text>Hi ⟦0⟧, 3 for ⟦1⟧</mj-text>");
        let pattern = Pattern::parse(&cut.skeleton, cut.values.len()).unwrap();
        assert_eq!(pattern.fill(|slot, _| cut.values[slot]), mjml);
        let plains: Vec<Cow<'_, str>> = cut.values.iter().map(|v| plain(v)).collect();
        assert_eq!(
            pattern.fill(|slot, _| &plains[slot]),
            "<mj-text>Hi Ana &amp; Bo, 3 for ana &amp; bo</mj-text>"
        );
    }

    #[test]
    fn broken_tokens_do_not_compile() {
        assert!(Pattern::parse("a⟦0⟧b⟦a0⟧", 1).is_some());
        assert!(Pattern::parse("a⟦1⟧b", 1).is_none(), "unknown slot");
        assert!(Pattern::parse("a⟦0b", 1).is_none(), "unclosed");
        assert!(Pattern::parse("a⟧b", 1).is_none(), "stray close");
        assert!(Pattern::parse("a⟦x⟧b", 1).is_none(), "not a number");
        assert!(Pattern::parse("a⟦+0⟧b", 1).is_none(), "not a number");
        assert!(cut("has ⟦ already", &[]).is_none());
    }

    #[test]
    fn the_encoding_is_known_without_a_scan() {
        let long = "x".repeat(990);
        let texts = [
            format!("<p>\r\n{long}⟦0⟧</p>\r\nend"),
            format!("a\r\n⟦0⟧{long}\r\n⟦1⟧b"),
            format!("⟦0⟧⟦1⟧{long}"),
            "é\r\n⟦0⟧".to_string(),
            "plain ⟦0⟧ ⟦1⟧\r\n".to_string(),
        ];
        let values = [["short", "ascii"], ["12345678901", "x"], ["déjà", "vu"]];
        for text in &texts {
            let pattern = Pattern::parse(text, 2).unwrap();
            for value in &values {
                let filled = pattern.fill(|slot, _| value[slot]);
                assert_eq!(
                    pattern.encoding(|slot, _| value[slot]),
                    mime::encoding_of(&filled),
                    "{text:?} with {value:?}"
                );
            }
        }
    }

    #[test]
    fn tokens_in_attributes_are_told_apart() {
        assert_eq!(
            mark_attributes("<a href=\"⟦0⟧\" title='x⟦1⟧'>⟦2⟧</a><!doctype html><p>⟦3⟧</p>")
                .as_deref(),
            Some("<a href=\"⟦a0⟧\" title='x⟦a1⟧'>⟦2⟧</a><!doctype html><p>⟦3⟧</p>")
        );
        assert_eq!(mark_attributes("<!-- ⟦0⟧ -->"), None);
        assert_eq!(mark_attributes("<td ⟦0⟧>"), None);
        assert_eq!(
            mark_attributes("a < b ⟦0⟧ > c").as_deref(),
            Some("a < b ⟦0⟧ > c")
        );
        assert_eq!(debug_escape("plain ascii &amp; co"), "plain ascii &amp; co");
        assert_eq!(
            debug_escape("a\u{a0}b\\c\u{301}d"),
            "a\\u{a0}b\\\\c\\u{301}d",
            "escaping is per character, wherever it stands"
        );
    }
}
