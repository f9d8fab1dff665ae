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
