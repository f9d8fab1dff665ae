//! Who the example shop's customers are: locale, currency, timezone, names
//! (including non-ASCII ones, to exercise escaping and encoding), loyalty tier,
//! consent, and the hidden profile (interests, activity level) that drives
//! their behaviour in `events.rs`.

use super::rng::Rng;
use super::{DAY, rfc3339};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Bronze,
    Silver,
    Gold,
    Platinum,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Bronze, Tier::Silver, Tier::Gold, Tier::Platinum];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Bronze => "bronze",
            Tier::Silver => "silver",
            Tier::Gold => "gold",
            Tier::Platinum => "platinum",
        }
    }
}

/// The product families a customer cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Skincare,
    Running,
    Lighting,
    Books,
    Fitness,
}

impl Interest {
    const ALL: [Interest; 5] = [
        Interest::Skincare,
        Interest::Running,
        Interest::Lighting,
        Interest::Books,
        Interest::Fitness,
    ];
    const WEIGHTS: [u32; 5] = [30, 25, 20, 30, 15];

    fn tag(self) -> &'static str {
        match self {
            Interest::Skincare => "skincare",
            Interest::Running => "runner",
            Interest::Lighting => "smart-home",
            Interest::Books => "reader",
            Interest::Fitness => "fitness",
        }
    }
}

/// How much a customer shops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Views and carts, never an order.
    BrowseOnly,
    /// Bought in the past, nothing in the last 90+ days.
    Inactive,
    /// Exactly one shopping trip, no follow-ups.
    OneOrder,
    Regular,
    Loyal,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub email: String,
    pub first_name: &'static str,
    pub locale: &'static str,
    pub timezone: &'static str,
    pub currency: Currency,
    pub tier: Tier,
    pub consent: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub tags: String,
    pub interests: Vec<Interest>,
    pub activity: Activity,
}

struct LocaleSpec {
    locale: &'static str,
    currency: Currency,
    timezones: &'static [&'static str],
    first_names: &'static [&'static str],
    last_names: &'static [&'static str],
}

const LOCALES: [LocaleSpec; 4] = [
    LocaleSpec {
        locale: "en-US",
        currency: Currency::Usd,
        timezones: &[
            "America/New_York",
            "America/New_York",
            "America/Chicago",
            "America/Los_Angeles",
        ],
        first_names: &[
            "James",
            "Mary",
            "Michael",
            "Patricia",
            "Robert",
            "Jennifer",
            "David",
            "Linda",
            "William",
            "Elizabeth",
            "Daniel",
            "Sarah",
            "Emily",
            "Olivia",
            "Noah",
            "Liam",
            "Ava",
            "Sophia",
            "Mason",
            "Ethan",
            "Isabella",
            "Maya",
            "Aaliyah",
            "Mateo",
            "Priya",
            "Wei",
            "Hiroshi",
            "Fatima",
            "Kwame",
            "José",
            "Renée",
            "Zoë",
            "Chloé",
            "Nathan",
            "Grace",
            "Tyler",
            "Madison",
            "Jordan",
        ],
        last_names: &[
            "smith",
            "johnson",
            "williams",
            "brown",
            "jones",
            "garcia",
            "miller",
            "davis",
            "rodriguez",
            "martinez",
            "hernandez",
            "lopez",
            "wilson",
            "anderson",
            "thomas",
            "taylor",
            "moore",
            "jackson",
            "lee",
            "nguyen",
            "patel",
            "kim",
            "chen",
            "o'connor",
        ],
    },
    LocaleSpec {
        locale: "fr-FR",
        currency: Currency::Eur,
        timezones: &["Europe/Paris"],
        first_names: &[
            "Hélène",
            "François",
            "Chloé",
            "Léa",
            "Manon",
            "Camille",
            "Inès",
            "Louis",
            "Gabriel",
            "Jules",
            "Raphaël",
            "Théo",
            "Élodie",
            "Amélie",
            "Noémie",
            "Zoé",
            "Jérôme",
            "Stéphane",
            "Céline",
            "Anaïs",
            "Benoît",
            "Gaëlle",
            "Loïc",
            "Cécile",
            "Margaux",
            "Thomas",
            "Nicolas",
            "Julie",
            "Antoine",
            "Sébastien",
        ],
        last_names: &[
            "martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand",
            "leroy", "moreau", "simon", "laurent", "lefèvre", "michel", "garnier", "faure",
            "rousseau", "blanc", "guérin", "muller",
        ],
    },
    LocaleSpec {
        locale: "en-GB",
        currency: Currency::Gbp,
        timezones: &["Europe/London"],
        first_names: &[
            "Oliver",
            "George",
            "Harry",
            "Amelia",
            "Isla",
            "Olivia",
            "Jack",
            "Charlotte",
            "Freya",
            "Alfie",
            "Sophie",
            "Siobhan",
            "Niamh",
            "Aoife",
            "Rhys",
            "Eilidh",
            "Zoë",
            "Callum",
            "Imogen",
            "Rory",
        ],
        last_names: &[
            "smith", "jones", "taylor", "brown", "williams", "wilson", "davies", "robinson",
            "wright", "thompson", "evans", "walker", "white", "roberts", "green", "hall", "wood",
            "clarke", "o'brien", "mcdonald",
        ],
    },
    LocaleSpec {
        locale: "de-DE",
        currency: Currency::Eur,
        timezones: &["Europe/Berlin"],
        first_names: &[
            "Jürgen",
            "Jörg",
            "Björn",
            "Günter",
            "Sören",
            "Käthe",
            "Lukas",
            "Leon",
            "Finn",
            "Jonas",
            "Mia",
            "Emma",
            "Hannah",
            "Lena",
            "Sophie",
            "Uwe",
            "Jana",
            "Anja",
            "Maximilian",
            "Marie",
            "Felix",
            "Jürgen",
        ],
        last_names: &[
            "müller",
            "schmidt",
            "schneider",
            "fischer",
            "weber",
            "meyer",
            "wagner",
            "becker",
            "schulz",
            "hoffmann",
            "schäfer",
            "koch",
            "bauer",
            "richter",
            "klein",
            "wolf",
            "schröder",
            "neumann",
        ],
    },
];
const LOCALE_WEIGHTS: [u32; 4] = [55, 25, 10, 10];

/// Lowercase ASCII for an email local part: accents dropped, letters, digits
/// and hyphens kept, anything else removed.
fn ascii_fold(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ß' => "ss",
            'a'..='z' | '0'..='9' | '-' => {
                out.push(c);
                continue;
            }
            _ => "",
        };
        out.push_str(folded);
    }
    out
}

/// Customer number `n` (1-based) for `(seed, n)`, drawing from `rng`.
/// `start..end` is the event window in unix seconds.
pub fn generate(rng: &mut Rng, n: u64, start: i64, end: i64) -> Customer {
    let spec = &LOCALES[rng.weighted(&LOCALE_WEIGHTS)];
    let first_name = *rng.pick(spec.first_names);
    let last_name = *rng.pick(spec.last_names);
    let domain = match rng.below(20) {
        0..=13 => "example.com",
        14..=16 => "example.org",
        _ => "example.net",
    };
    let email = format!(
        "{}.{}.{n}@{domain}",
        ascii_fold(first_name),
        ascii_fold(last_name)
    );
    let timezone = *rng.pick(spec.timezones);
    let tier = Tier::ALL[rng.weighted(&[50, 30, 15, 5])];
    let consent = rng.percent(85);
    let activity = match rng.below(100) {
        0..=7 => Activity::BrowseOnly,
        8..=17 => Activity::Inactive,
        18..=42 => Activity::OneOrder,
        43..=84 => Activity::Regular,
        _ => Activity::Loyal,
    };

    let count = match rng.below(100) {
        0..=44 => 1,
        45..=84 => 2,
        _ => 3,
    };
    let mut interests = Vec::new();
    if activity == Activity::BrowseOnly && rng.percent(60) {
        interests.push(Interest::Books);
    }
    while interests.len() < count {
        let interest = Interest::ALL[rng.weighted(&Interest::WEIGHTS)];
        if !interests.contains(&interest) {
            interests.push(interest);
        }
    }

    // Most customers signed up before the window; inactive ones well before
    // their last activity; about one in five during the window.
    let created_at = if activity == Activity::Inactive || !rng.percent(20) {
        start - rng.range(DAY, 3 * 365 * DAY)
    } else {
        rng.range(start, end - DAY)
    };

    let mut tags: Vec<&str> = Vec::new();
    for interest in &interests {
        if rng.percent(40) {
            tags.push(interest.tag());
        }
    }
    if tier >= Tier::Gold && rng.percent(40) {
        tags.push("vip");
    }
    if rng.permille(10) {
        tags.push("wholesale");
    }

    Customer {
        id: format!("C{n:06}"),
        email,
        first_name,
        locale: spec.locale,
        timezone,
        currency: spec.currency,
        tier,
        consent,
        created_at,
        tags: tags.join("|"),
        interests,
        activity,
    }
}

pub const HEADER: [&str; 10] = [
    "id",
    "email",
    "first_name",
    "locale",
    "timezone",
    "tier",
    "consent",
    "created_at",
    "tags",
    "currency",
];

pub fn write_row<W: std::io::Write>(w: &mut csv::Writer<W>, c: &Customer) -> csv::Result<()> {
    let currency = match c.currency {
        Currency::Usd => "USD",
        Currency::Eur => "EUR",
        Currency::Gbp => "GBP",
    };
    w.write_record([
        c.id.as_str(),
        &c.email,
        c.first_name,
        c.locale,
        c.timezone,
        c.tier.name(),
        if c.consent { "true" } else { "false" },
        &rfc3339(c.created_at),
        &c.tags,
        currency,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercase_ascii() {
        assert_eq!(ascii_fold("Hélène"), "helene");
        assert_eq!(ascii_fold("Jürgen"), "jurgen");
        assert_eq!(ascii_fold("o'brien"), "obrien");
        assert_eq!(ascii_fold("schäfer"), "schafer");
        let mut rng = Rng::new(1, 1);
        for n in 1..500 {
            let c = generate(&mut rng, n, 0, 100 * DAY);
            assert!(c.email.is_ascii(), "{}", c.email);
            assert_eq!(c.email, c.email.to_lowercase());
            assert!(
                c.email.ends_with("@example.com")
                    || c.email.ends_with("@example.org")
                    || c.email.ends_with("@example.net")
            );
        }
    }
}
