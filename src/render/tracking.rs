//! Click tracking: a campaign's `utm` parameters added to the links of its
//! messages, keeping whatever query string a link already has.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// [`track`] for one campaign, remembering the links it has tracked (a
/// catalog's product links come back in message after message).
#[derive(Debug)]
pub struct Tracker {
    utm: BTreeMap<String, String>,
    known: RwLock<HashMap<Box<str>, Box<str>, ahash::RandomState>>,
}

/// Links remembered per campaign, at most.
const KNOWN_LINKS: usize = 100_000;

impl Tracker {
    pub fn new(utm: &BTreeMap<String, String>) -> Tracker {
        Tracker {
            utm: utm.clone(),
            known: RwLock::new(HashMap::default()),
        }
    }

    pub fn track(&self, url: &str) -> String {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        if let Some(tracked) = known.get(url) {
            return tracked.to_string();
        }
        drop(known);
        let tracked = track(url, &self.utm);
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.len() < KNOWN_LINKS {
            known.insert(url.into(), tracked.as_str().into());
        }
        tracked
    }
}

/// `url` with the campaign's UTM parameters. Keys are written `utm_<key>`
/// (a key already starting with `utm_` is kept as is), in the campaign's
/// (alphabetical) order after the link's own parameters; a parameter the
/// link already has under the same name is replaced, not duplicated. A text
/// that is not an absolute URL (`mailto:`, a relative path, a typo) is
/// returned unchanged rather than mangled.
pub fn track(url: &str, utm: &BTreeMap<String, String>) -> String {
    if utm.is_empty() {
        return url.to_string();
    }
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return url.to_string();
    }
    let names: Vec<(String, &str)> = utm
        .iter()
        .map(|(key, value)| {
            let name = if key.starts_with("utm_") {
                key.clone()
            } else {
                format!("utm_{key}")
            };
            (name, value.as_str())
        })
        .collect();
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(name, _)| !names.iter().any(|(utm_name, _)| utm_name == name))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (name, value) in &kept {
            query.append_pair(name, value);
        }
        for (name, value) in &names {
            query.append_pair(name, value);
        }
    }
    parsed.into()
}

/// The shop's site, and the start of its unsubscribe links (which are
/// never given UTM parameters).
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    pub website: &'a str,
    /// `[unsubscribe] url` up to `{token}`.
    pub unsubscribe: &'a str,
    /// `[site] landing_url` up to `{token}`: signed per message, left as is
    /// like the unsubscribe link (its page is not a campaign's destination).
    pub landing: &'a str,
}

/// The links to the shop's own site (`website`'s host, or a subdomain of
/// it) that a template wrote without `track`, given the campaign's UTM
/// parameters; links elsewhere, and links that already carry `utm_`
/// parameters, are left alone. None when nothing changes.
pub fn track_site_links(
    html: &str,
    site: &Site<'_>,
    utm: &BTreeMap<String, String>,
) -> Option<String> {
    if utm.is_empty() {
        return None;
    }
    let host = url::Url::parse(site.website)
        .ok()?
        .host_str()?
        .trim_start_matches("www.")
        .to_string();
    let ours = |link: &str| {
        let signed = [site.unsubscribe, site.landing]
            .iter()
            .any(|prefix| !prefix.is_empty() && link.starts_with(prefix));
        !signed
            && url::Url::parse(link).ok().is_some_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some_and(|h| {
                        let h = h.trim_start_matches("www.");
                        h == host || h.ends_with(&format!(".{host}"))
                    })
                    && !url.query_pairs().any(|(name, _)| name.starts_with("utm_"))
            })
    };
    let mut out = String::new();
    let mut written = 0;
    for (at, _) in html.match_indices("href=\"") {
        let start = at + "href=\"".len();
        if start < written {
            continue;
        }
        let Some(length) = html[start..].find('"') else {
            break;
        };
        let raw = &html[start..start + length];
        // Values still to be filled in (a skeleton's markers) are not URLs yet.
        if raw.contains(|c| matches!(c, '\u{FDD0}'..='\u{FDEF}')) {
            continue;
        }
        let link = raw.replace("&amp;", "&");
        if !ours(&link) {
            continue;
        }
        out.push_str(&html[written..start]);
        out.push_str(&track(&link, utm).replace('&', "&amp;"));
        written = start + length;
    }
    if written == 0 {
        return None;
    }
    out.push_str(&html[written..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utm() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("source".to_string(), "xsell".to_string()),
            ("medium".to_string(), "email".to_string()),
            ("campaign".to_string(), "post-purchase".to_string()),
        ])
    }

    #[test]
    fn adds_parameters_in_a_stable_order() {
        assert_eq!(
            track("https://shop.example/p/P1", &utm()),
            "https://shop.example/p/P1?utm_campaign=post-purchase&utm_medium=email&utm_source=xsell"
        );
    }

    #[test]
    fn keeps_the_existing_query_and_fragment() {
        assert_eq!(
            track(
                "https://shop.example/p/P1?size=M&color=blue#reviews",
                &utm()
            ),
            "https://shop.example/p/P1?size=M&color=blue&utm_campaign=post-purchase&utm_medium=email&utm_source=xsell#reviews"
        );
    }

    #[test]
    fn replaces_a_parameter_the_link_already_has() {
        assert_eq!(
            track("https://shop.example/?utm_source=old&q=a+b", &utm()),
            "https://shop.example/?q=a+b&utm_campaign=post-purchase&utm_medium=email&utm_source=xsell"
        );
    }

    #[test]
    fn leaves_what_is_not_a_web_link_alone() {
        assert_eq!(
            track("mailto:care@shop.example", &utm()),
            "mailto:care@shop.example"
        );
        assert_eq!(track("/relative/path", &utm()), "/relative/path");
        assert_eq!(
            track("https://shop.example/p", &BTreeMap::new()),
            "https://shop.example/p"
        );
    }

    #[test]
    fn links_to_the_shop_get_utm_and_others_are_left_alone() {
        let html = r#"<a href="https://shop.example/sale?x=1&amp;y=2">Sale</a> <a href="https://www.shop.example/">Home</a> <a href="https://blog.example/post">Blog</a> <a href="https://shop.example/p?utm_source=mine">Mine</a> <a href="mailto:care@shop.example">Mail</a>"#;
        let site = Site {
            website: "https://shop.example",
            unsubscribe: "https://shop.example/unsubscribe?token=",
            landing: "https://shop.example/more/",
        };
        let with_unsubscribe = format!(
            "{html} <a href=\"https://shop.example/unsubscribe?token=T1\">Unsubscribe</a> <a href=\"https://shop.example/more/T2\">More</a>"
        );
        let tracked = track_site_links(&with_unsubscribe, &site, &utm()).unwrap();
        assert!(
            tracked.contains(r#"href="https://shop.example/unsubscribe?token=T1""#),
            "{tracked}"
        );
        assert!(tracked.contains(r#"href="https://shop.example/sale?x=1&amp;y=2&amp;utm_campaign=post-purchase&amp;utm_medium=email&amp;utm_source=xsell""#), "{tracked}");
        assert!(
            tracked.contains(r#"href="https://www.shop.example/?utm_campaign="#),
            "{tracked}"
        );
        assert!(tracked.contains(r#"href="https://blog.example/post""#));
        assert!(tracked.contains(r#"href="https://shop.example/more/T2""#));
        assert!(tracked.contains(r#"href="https://shop.example/p?utm_source=mine""#));
        assert!(tracked.contains(r#"href="mailto:care@shop.example""#));
        assert_eq!(
            track_site_links("<a href=\"https://blog.example/\">b</a>", &site, &utm()),
            None
        );
        assert_eq!(track_site_links(html, &site, &BTreeMap::new()), None);
    }

    #[test]
    fn a_tracker_gives_what_track_gives() {
        let tracker = Tracker::new(&utm());
        for _ in 0..2 {
            assert_eq!(
                tracker.track("https://shop.example/p/P1?a=1"),
                track("https://shop.example/p/P1?a=1", &utm())
            );
        }
    }

    #[test]
    fn encodes_values() {
        let utm = BTreeMap::from([("utm_content".to_string(), "spring & summer".to_string())]);
        assert_eq!(
            track("https://shop.example/", &utm),
            "https://shop.example/?utm_content=spring+%26+summer"
        );
    }
}
