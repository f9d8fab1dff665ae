//! The plain-text part, made from the same HTML the customer sees (so the
//! two never drift apart): html2text reads tables as plain blocks, links
//! become numbered references listed at the end, images are left out (the
//! product names and prices are text already), and [`finish`] tidies and
//! wraps the result for a text-only mail client.

use html2text::render::TextDecorator;

/// Width plain-text lines are wrapped to (RFC 5322 recommends 78).
pub const WRAP_WIDTH: usize = 76;

/// html2text is asked not to wrap (wide enough for any paragraph): wrapping
/// happens in [`finish`], after the values are in, so it is the same
/// whichever way the text was produced.
const UNWRAPPED: usize = 1_000_000;

/// The text of `html`, before [`finish`].
pub fn from_html(html: &str) -> String {
    html2text::config::with_decorator(Decorator)
        .link_footnotes(true)
        .raw_mode(true)
        .unicode_strikeout(false)
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), UNWRAPPED)
        .unwrap_or_default()
}

/// Trailing spaces dropped, at most one blank line in a row, no blank lines
/// at either end, long lines wrapped at spaces (link references are never
/// split), and CRLF line ends.
pub fn finish(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut blank_pending = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if blank_pending {
            out.push_str("\r\n");
            blank_pending = false;
        }
        wrap_into(line, &mut out);
    }
    out
}

fn is_link_reference(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once("]: "))
        .is_some_and(|(number, _)| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

fn wrap_into(line: &str, out: &mut String) {
    // Bytes are never fewer than characters: most lines need no count.
    if line.len() <= WRAP_WIDTH || line.chars().count() <= WRAP_WIDTH || is_link_reference(line) {
        out.push_str(line);
        out.push_str("\r\n");
        return;
    }
    let indent_len = line.len() - line.trim_start_matches(' ').len();
    let indent = &line[..indent_len];
    let mut width = 0;
    let mut first = true;
    for word in line[indent_len..].split(' ').filter(|w| !w.is_empty()) {
        let word_width = word.chars().count();
        if first {
            out.push_str(indent);
            width = indent_len;
        } else if width + 1 + word_width > WRAP_WIDTH {
            out.push_str("\r\n");
            out.push_str(indent);
            width = indent_len;
        } else {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word_width;
        first = false;
    }
    out.push_str("\r\n");
}

/// Plain text without markup characters: no brackets around links (the
/// reference number follows the text), no image placeholders, no `**`.
#[derive(Clone, Debug, Default)]
struct Decorator;

impl TextDecorator for Decorator {
    type Annotation = ();

    fn decorate_link_start(&mut self, _url: &str) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_link_end(&mut self) -> String {
        " ".to_string()
    }
    fn decorate_em_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_em_end(&self) -> String {
        String::new()
    }
    fn decorate_strong_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strong_end(&self) -> String {
        String::new()
    }
    fn decorate_strikeout_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }
    fn decorate_code_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_code_end(&self) -> String {
        String::new()
    }
    fn decorate_preformat_first(&self) {}
    fn decorate_preformat_cont(&self) {}
    fn decorate_image(&mut self, _src: &str, _title: &str) -> (String, ()) {
        (String::new(), ())
    }
    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }
    fn quote_prefix(&self) -> String {
        "> ".to_string()
    }
    fn unordered_item_prefix(&self) -> String {
        "* ".to_string()
    }
    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }
    fn make_subblock_decorator(&self) -> Self {
        Decorator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_listed_and_images_left_out() {
        let html = "<div>Hi Ana &amp; co</div><div><a href=\"https://shop.example/p?a=1&amp;b=2\"><img alt=\"Soap\" src=\"x.jpg\"></a></div>\
                    <div><a href=\"https://shop.example/p\">Shop now</a></div><div><s>$24.00</s> <strong>$20.40</strong></div>";
        assert_eq!(
            finish(&from_html(html)),
            "Hi Ana & co\r\n[1]\r\nShop now [2]\r\n$24.00 $20.40\r\n\r\n[1]: https://shop.example/p?a=1&b=2\r\n[2]: https://shop.example/p\r\n"
        );
    }

    #[test]
    fn finish_wraps_long_lines_but_not_link_references() {
        let long = "word ".repeat(30);
        let url = format!("[12]: https://shop.example/{}", "x".repeat(120));
        let text = format!("\n\n{long}\n\n\n\n  indented {long}\n{url}\n\n");
        let finished = finish(&text);
        for line in finished.split("\r\n") {
            assert!(
                line.chars().count() <= WRAP_WIDTH || line == url,
                "{line:?}"
            );
        }
        assert!(finished.starts_with("word word"));
        assert!(
            finished.contains("word\r\n\r\n  indented word"),
            "{finished}"
        );
        assert!(finished.contains(&format!("\r\n{url}\r\n")));
        assert!(
            finished.contains("\r\n  word"),
            "continuation lines keep the indent"
        );
        assert_eq!(finished.matches("word").count(), 60);
    }
}
