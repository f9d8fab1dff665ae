//! Who may receive a campaign at `now`: marketing consent (always — a
//! campaign cannot switch it off), tiers, tags, locales, how many orders and
//! how recently; and the holdout, a stable control group per campaign.
//!
//! Order conditions count only orders before `now`. The customer's tier,
//! tags and locale are the customers table's (the shop's current view).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::campaign::Audience;
use crate::data::{CustomerIx, Store};
use crate::units::format_duration;

/// Why a customer is not in a campaign's audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Miss {
    /// No marketing opt-in.
    NoConsent,
    /// Became a customer after `now` (planning a past moment).
    NotYetCustomer {
        since: i64,
    },
    /// Not one of the campaign's tiers.
    Tier {
        tier: String,
    },
    ExcludedTier {
        tier: String,
    },
    /// None of the required tags.
    NoTag,
    ExcludedTag {
        tag: String,
    },
    Locale {
        locale: String,
    },
    TooFewOrders {
        orders: usize,
        min: u32,
    },
    TooManyOrders {
        orders: usize,
        max: u32,
    },
    /// No order within `within` before now.
    NotOrderedWithin {
        within: String,
    },
    /// Ordered within `within` before now (the campaign wants lapsed customers).
    OrderedWithin {
        within: String,
    },
}

impl Miss {
    /// A short name for summaries: `tier`, `orders`, `no consent`…
    pub fn rule(&self) -> &'static str {
        match self {
            Miss::NoConsent => "no consent",
            Miss::NotYetCustomer { .. } => "not a customer yet",
            Miss::Tier { .. } | Miss::ExcludedTier { .. } => "tier",
            Miss::NoTag | Miss::ExcludedTag { .. } => "tags",
            Miss::Locale { .. } => "locale",
            Miss::TooFewOrders { .. } | Miss::TooManyOrders { .. } => "order count",
            Miss::NotOrderedWithin { .. } | Miss::OrderedWithin { .. } => "order recency",
        }
    }
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::NoConsent => write!(f, "no marketing consent"),
            Miss::NotYetCustomer { since } => write!(
                f,
                "not a customer yet (since {})",
                crate::calendar::rfc3339(*since)
            ),
            Miss::Tier { tier } => write!(f, "tier {tier} is not one of the campaign's tiers"),
            Miss::ExcludedTier { tier } => write!(f, "tier {tier} is excluded"),
            Miss::NoTag => write!(f, "has none of the campaign's tags"),
            Miss::ExcludedTag { tag } => write!(f, "tagged {tag}, which is excluded"),
            Miss::Locale { locale } => write!(f, "locale {locale} is not one of the campaign's"),
            Miss::TooFewOrders { orders, min } => {
                write!(f, "{orders} orders, fewer than {min}")
            }
            Miss::TooManyOrders { orders, max } => write!(f, "{orders} orders, more than {max}"),
            Miss::NotOrderedWithin { within } => write!(f, "no order in the last {within}"),
            Miss::OrderedWithin { within } => write!(f, "ordered in the last {within}"),
        }
    }
}

/// Whether the customer is in the campaign's audience at `now`, and if not, the first rule that keeps them out.
pub fn check(
    store: &Store,
    audience: &Audience,
    customer: CustomerIx,
    now: i64,
) -> Result<(), Miss> {
    let c = store.customer(customer);
    if !c.consent {
        return Err(Miss::NoConsent);
    }
    if c.created_at >= now {
        return Err(Miss::NotYetCustomer {
            since: c.created_at,
        });
    }
    let tier = store.tiers().name(c.tier);
    if !audience.tiers.is_empty() && !audience.tiers.iter().any(|t| t == tier) {
        return Err(Miss::Tier { tier: tier.into() });
    }
    if audience.exclude_tiers.iter().any(|t| t == tier) {
        return Err(Miss::ExcludedTier { tier: tier.into() });
    }
    let tags: Vec<&str> = c.tags.iter().map(|t| store.tags().name(*t)).collect();
    if !audience.tags.is_empty() && !audience.tags.iter().any(|t| tags.contains(&t.as_str())) {
        return Err(Miss::NoTag);
    }
    if let Some(tag) = audience
        .exclude_tags
        .iter()
        .find(|t| tags.contains(&t.as_str()))
    {
        return Err(Miss::ExcludedTag { tag: tag.clone() });
    }
    let locale = store.locales().name(c.locale);
    if !audience.locales.is_empty()
        && !audience
            .locales
            .iter()
            .any(|l| l.eq_ignore_ascii_case(locale))
    {
        return Err(Miss::Locale {
            locale: locale.into(),
        });
    }
    let orders_before_now: Vec<i64> = store
        .orders_of(customer)
        .map(|(_, o)| o.ts)
        .filter(|ts| *ts < now)
        .collect();
    let count = orders_before_now.len();
    if let Some(min) = audience.min_orders
        && count < min as usize
    {
        return Err(Miss::TooFewOrders { orders: count, min });
    }
    if let Some(max) = audience.max_orders
        && count > max as usize
    {
        return Err(Miss::TooManyOrders { orders: count, max });
    }
    let last_order = orders_before_now.last().copied();
    let ordered_within =
        |within: chrono::TimeDelta| last_order.is_some_and(|ts| ts > now - within.num_seconds());
    if let Some(within) = audience.ordered_within
        && !ordered_within(within)
    {
        return Err(Miss::NotOrderedWithin {
            within: format_duration(within),
        });
    }
    if let Some(within) = audience.not_ordered_within
        && ordered_within(within)
    {
        return Err(Miss::OrderedWithin {
            within: format_duration(within),
        });
    }
    Ok(())
}

/// Whether the customer is in the campaign's control group. The split is a
/// SHA-256 of (campaign id, customer id) read as a number of basis points,
/// so it is the same on every run, machine and version, and independent
/// between campaigns.
pub fn in_holdout(campaign_id: &str, customer_id: &str, basis_points: u32) -> bool {
    basis_points > 0 && holdout_bucket(campaign_id, customer_id) < basis_points
}

/// The customer's bucket for a campaign, 0–9999.
pub fn holdout_bucket(campaign_id: &str, customer_id: &str) -> u32 {
    let mut hash = Sha256::new();
    for part in ["xsell-holdout-v1", campaign_id, customer_id] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 10_000) as u32
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::data::store_from_csv;

    const CATALOG: &str = "\
id,name,category,manufacturer,price,currency,rating,rating_count,stock,created_at,url,image_url
P1,Gentle Body Soap,Body Care,Maison Douce,12.00,USD,4.6,120,50,2026-01-01T00:00:00Z,https://shop.example/p/P1,https://shop.example/i/P1.jpg
";

    const CUSTOMERS: &str = "\
id,email,first_name,locale,timezone,tier,consent,created_at,tags
C1,ana@example.com,Ana,en-US,America/New_York,gold,true,2025-01-01T00:00:00Z,runner|reader
C2,ben@example.com,Ben,fr-FR,Europe/Paris,silver,false,2025-01-01T00:00:00Z,
C3,cy@example.com,Cy,en-GB,Europe/London,bronze,true,2025-01-01T00:00:00Z,vip
";

    const EVENTS: &str = "\
ts,customer_id,kind,product_id,order_id,quantity,unit_price
2026-08-01T00:00:00Z,C1,order,P1,O1,1,12.00
2026-11-01T00:00:00Z,C1,order,P1,O2,1,12.00
2026-11-20T00:00:00Z,C1,order,P1,O3,1,12.00
";

    fn now() -> i64 {
        chrono::DateTime::parse_from_rfc3339("2026-11-16T09:00:00Z")
            .unwrap()
            .timestamp()
    }

    fn outcome(audience: &Audience, customer: &str) -> Result<(), Miss> {
        let store = store_from_csv(CATALOG, CUSTOMERS, EVENTS).unwrap();
        check(
            &store,
            audience,
            store.customer_ix(customer).unwrap(),
            now(),
        )
    }

    #[test]
    fn consent_is_always_required() {
        assert_eq!(outcome(&Audience::default(), "C2"), Err(Miss::NoConsent));
        assert_eq!(outcome(&Audience::default(), "C1"), Ok(()));
    }

    #[test]
    fn customers_from_after_now_are_not_customers_yet() {
        let store = store_from_csv(CATALOG, CUSTOMERS, EVENTS).unwrap();
        let joined = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .timestamp();
        let c1 = store.customer_ix("C1").unwrap();
        assert_eq!(check(&store, &Audience::default(), c1, joined + 1), Ok(()));
        assert_eq!(
            check(&store, &Audience::default(), c1, joined),
            Err(Miss::NotYetCustomer { since: joined })
        );
    }

    #[test]
    fn tiers_tags_and_locales() {
        let gold = Audience {
            tiers: vec!["gold".into(), "platinum".into()],
            ..Audience::default()
        };
        assert_eq!(outcome(&gold, "C1"), Ok(()));
        assert_eq!(
            outcome(&gold, "C3"),
            Err(Miss::Tier {
                tier: "bronze".into()
            })
        );
        let no_bronze = Audience {
            exclude_tiers: vec!["bronze".into()],
            ..Audience::default()
        };
        assert_eq!(
            outcome(&no_bronze, "C3"),
            Err(Miss::ExcludedTier {
                tier: "bronze".into()
            })
        );
        let readers = Audience {
            tags: vec!["reader".into(), "vip".into()],
            exclude_tags: vec!["runner".into()],
            ..Audience::default()
        };
        assert_eq!(outcome(&readers, "C3"), Ok(()));
        assert_eq!(
            outcome(&readers, "C1"),
            Err(Miss::ExcludedTag {
                tag: "runner".into()
            })
        );
        let writers = Audience {
            tags: vec!["writer".into()],
            ..Audience::default()
        };
        assert_eq!(outcome(&writers, "C1"), Err(Miss::NoTag));
        let british = Audience {
            locales: vec!["en-gb".into()],
            ..Audience::default()
        };
        assert_eq!(outcome(&british, "C3"), Ok(()));
        assert_eq!(
            outcome(&british, "C1"),
            Err(Miss::Locale {
                locale: "en-US".into()
            })
        );
    }

    #[test]
    fn order_conditions_count_only_orders_before_now() {
        let two = Audience {
            min_orders: Some(3),
            ..Audience::default()
        };
        assert_eq!(
            outcome(&two, "C1"),
            Err(Miss::TooFewOrders { orders: 2, min: 3 })
        );
        let at_most_one = Audience {
            max_orders: Some(1),
            ..Audience::default()
        };
        assert_eq!(
            outcome(&at_most_one, "C1"),
            Err(Miss::TooManyOrders { orders: 2, max: 1 })
        );
        assert_eq!(outcome(&at_most_one, "C3"), Ok(()));
        // Last order before now: 2026-11-01 00:00, 15 days 9 hours ago.
        let within = |days| Audience {
            ordered_within: Some(TimeDelta::days(days)),
            ..Audience::default()
        };
        assert_eq!(outcome(&within(16), "C1"), Ok(()));
        assert_eq!(
            outcome(&within(15), "C1"),
            Err(Miss::NotOrderedWithin {
                within: "15d".into()
            })
        );
        let lapsed = |days| Audience {
            not_ordered_within: Some(TimeDelta::days(days)),
            ..Audience::default()
        };
        assert_eq!(outcome(&lapsed(15), "C1"), Ok(()));
        assert_eq!(
            outcome(&lapsed(16), "C1"),
            Err(Miss::OrderedWithin {
                within: "16d".into()
            })
        );
        assert_eq!(outcome(&lapsed(16), "C3"), Ok(()), "never ordered");
        assert_eq!(
            Miss::OrderedWithin {
                within: "16d".into()
            }
            .to_string(),
            "ordered in the last 16d"
        );
    }

    #[test]
    fn holdout_is_stable_and_close_to_its_share() {
        let customers: Vec<String> = (0..10_000).map(|i| format!("C{i:06}")).collect();
        for (campaign, basis_points) in [
            ("post-purchase-completion", 1_000),
            ("cart-abandoned", 500),
            ("x", 2_500),
        ] {
            let held = customers
                .iter()
                .filter(|c| in_holdout(campaign, c, basis_points))
                .count() as i64;
            // Within one percentage point (100 of 10,000).
            let expected = basis_points as i64;
            assert!(
                (held - expected).abs() <= 100,
                "{campaign}: {held} held out of 10,000, expected about {expected}"
            );
        }
        assert!(!customers.iter().any(|c| in_holdout("x", c, 0)));
        assert!(customers.iter().all(|c| in_holdout("x", c, 10_000)));
        // Pinned values (computed independently with Python's hashlib): the split
        // must never move between versions, or a report's holdout stops being one.
        assert_eq!(
            holdout_bucket("post-purchase-completion", "C000001"),
            PINNED_BUCKET
        );
        // Independent between campaigns: the groups overlap about as chance says (10% of 10%).
        let both = customers
            .iter()
            .filter(|c| in_holdout("a", c, 1_000) && in_holdout("b", c, 1_000))
            .count();
        assert!(
            (50..=150).contains(&both),
            "{both} customers in both control groups"
        );
    }

    const PINNED_BUCKET: u32 = 5_972;
}
