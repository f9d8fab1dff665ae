//! The fast path gives the very bytes of the straightforward path, over
//! every example campaign and hundreds of customers of a shop made to be
//! awkward (short lists, products without reviews, long and hostile names,
//! non-ASCII everywhere) — and hostile values cannot inject markup or headers.

use std::collections::BTreeMap;

use xsell::campaign::Campaign;
use xsell::data::{CustomerIx, ProductIx, Store};
use xsell::offer::PricedOffer;
use xsell::recommend::{Recommendation, ResolvedList};
use xsell::render::sample::sample;
use xsell::render::{MessageInput, RenderedMessage, Renderer};

use crate::render::{NOW, example};
use crate::support;

/// A tiny deterministic generator (xorshift), so the awkward shop is the same every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub const SCRIPT_NAME: &str = "<script>alert('x')</script> Soap";
pub const TERA_NAME: &str = "{{ 7*7 }} {% if true %}Cream{% endif %}";
pub const HEADER_NAME: &str = "Ana\r\nBcc: victim@evil.example";
pub const HEADER_PRODUCT: &str = "Soap\r\nBcc: victim@evil.example";

/// Fixture CSV rows, rewritten: some products lose their reviews, get hostile,
/// long or non-ASCII names; some customers get awkward first names.
fn awkward_store() -> Store {
    let read =
        |name: &str| std::fs::read_to_string(support::repo().join("fixtures").join(name)).unwrap();
    let rewrite = |text: &str, edit: &dyn Fn(usize, &mut Vec<String>, &csv::StringRecord)| {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&headers).unwrap();
        for (index, record) in reader.records().enumerate() {
            let mut fields: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
            edit(index, &mut fields, &headers);
            writer.write_record(&fields).unwrap();
        }
        String::from_utf8(writer.into_inner().unwrap()).unwrap()
    };
    let column =
        |headers: &csv::StringRecord, name: &str| headers.iter().position(|h| h == name).unwrap();
    let long_name = format!("Extraordinarily {} Soap", "Long ".repeat(97));
    let catalog = rewrite(&read("catalog.csv"), &|index, fields, headers| {
        let name = column(headers, "name");
        match index % 9 {
            0 => {
                fields[column(headers, "rating")] = String::new();
                fields[column(headers, "rating_count")] = "0".to_string();
            }
            1 => fields[name] = SCRIPT_NAME.to_string(),
            2 => fields[name] = TERA_NAME.to_string(),
            3 => fields[name] = long_name.clone(),
            4 => fields[name] = format!("Crème brûlée « édition » ☕ n°{index} — Ünïcødé 日本"),
            5 => fields[name] = format!("Tom & Jerry's \"quoted\" {index} &amp; co"),
            6 => fields[name] = format!("Two  spaces\tand\u{a0}nbsp\u{202f}{index}"),
            7 => fields[name] = HEADER_PRODUCT.to_string(),
            _ => {}
        }
    });
    let customers = rewrite(&read("customers.csv"), &|index, fields, headers| {
        let first_name = column(headers, "first_name");
        match index % 8 {
            // The loader wants a name; a zero-width space is one that cleans to nothing.
            0 => fields[first_name] = "\u{200b}".to_string(),
            1 => fields[first_name] = "<b>Bo</b> & Co".to_string(),
            2 => fields[first_name] = HEADER_NAME.to_string(),
            3 => fields[first_name] = "Ж".repeat(500),
            4 => fields[first_name] = "{{ customer.email }}".to_string(),
            _ => {}
        }
    });
    xsell::data::store_from_csv(&catalog, &customers, &read("events.csv"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}

/// Lists of 0 to `limit` products drawn from the whole catalog (reviewed or
/// not, priced in the customer's currency or not).
fn awkward_lists(store: &Store, campaign: &Campaign, dice: &mut Dice) -> Vec<ResolvedList> {
    campaign
        .lists
        .iter()
        .map(|spec| {
            let count = dice.below(spec.limit + 1);
            let items = (0..count)
                .map(|_| Recommendation {
                    product: dice.below(store.products().len()) as ProductIx,
                    source: xsell::campaign::SourceKind::Manual,
                    reason: "test".to_string(),
                    score: 0.0,
                })
                .collect();
            ResolvedList {
                name: spec.name.clone(),
                items,
                on_empty: spec.on_empty,
            }
        })
        .collect()
}

fn render_both(
    renderer: &Renderer,
    store: &Store,
    campaign: &Campaign,
    customer: CustomerIx,
    lists: &[ResolvedList],
    offer: Option<&PricedOffer>,
) -> (RenderedMessage, RenderedMessage) {
    let example = example();
    let sample = sample(store, campaign, customer, NOW, &example.key);
    let input = MessageInput {
        config: &example.workspace.config,
        store,
        campaign,
        customer,
        occurrence: sample.occurrence.as_ref(),
        lists,
        offer,
        now: NOW,
        key: &example.key,
    };
    let fast = renderer
        .render(&input)
        .unwrap_or_else(|e| panic!("{} {customer}: {e}", campaign.id));
    let straightforward = renderer
        .render_straightforward(&input)
        .unwrap_or_else(|e| panic!("{} {customer}: {e}", campaign.id));
    (fast, straightforward)
}

#[test]
fn the_fast_path_is_byte_identical_over_awkward_customers() {
    let example = example();
    let store = awkward_store();
    let renderer = Renderer::load(&example.workspace.config, &example.workspace.campaigns)
        .unwrap_or_else(|problems| panic!("{problems}"));
    const CUSTOMERS: usize = 240;
    let campaigns = &example.workspace.campaigns;
    std::thread::scope(|scope| {
        for half in 0..2 {
            let (store, renderer) = (&store, &renderer);
            scope.spawn(move || {
                for (campaign_index, campaign) in campaigns.iter().enumerate() {
                    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (campaign_index as u64 + 1) << 8 ^ half);
                    for customer in (half as usize..CUSTOMERS).step_by(2) {
                        let customer = customer as CustomerIx;
                        let lists = awkward_lists(store, campaign, &mut dice);
                        // Without an offer too, where the subject does not need one.
                        let needs_offer = campaign.subject.contains("offer")
                            || campaign.preheader.as_deref().is_some_and(|p| p.contains("offer"));
                        let offer = sample(store, campaign, customer, NOW, &example.key).offer;
                        let offer = offer.filter(|_| needs_offer || customer % 7 != 3);
                        let (fast, straightforward) =
                            render_both(renderer, store, campaign, customer, &lists, offer.as_ref());
                        assert!(
                            fast == straightforward,
                            "{} customer {customer}: the paths differ\n--- fast\n{}\n--- straightforward\n{}",
                            campaign.id,
                            String::from_utf8_lossy(&fast.eml),
                            String::from_utf8_lossy(&straightforward.eml)
                        );
                    }
                }
            });
        }
    });
    let mut report = BTreeMap::new();
    for campaign in campaigns {
        let stats = renderer.stats(&campaign.id);
        report.insert(campaign.id.clone(), stats);
        assert!(
            stats.filled_messages * 2 >= CUSTOMERS as u64,
            "{}: at least half the messages come from a compiled skeleton: {stats:?}",
            campaign.id
        );
    }
    eprintln!("{report:#?}");
}

#[test]
fn hostile_values_cannot_inject_markup_or_headers() {
    let example = example();
    let store = awkward_store();
    let renderer = &example.renderer;
    let campaign = example
        .workspace
        .campaigns
        .iter()
        .find(|c| c.id == "cart-abandoned")
        .unwrap();
    let product = |name: &str| {
        (0..store.products().len() as ProductIx)
            .find(|&ix| &*store.product(ix).name == name)
            .unwrap()
    };
    let customer = |first_name: &str| {
        (0..store.customers().len() as CustomerIx)
            .find(|&ix| &*store.customer(ix).first_name == first_name)
            .unwrap()
    };
    let list = |products: &[ProductIx]| {
        vec![ResolvedList {
            name: "goes_with".to_string(),
            items: products
                .iter()
                .map(|&product| Recommendation {
                    product,
                    source: xsell::campaign::SourceKind::Manual,
                    reason: "test".to_string(),
                    score: 0.0,
                })
                .collect(),
            on_empty: xsell::campaign::OnEmpty::OmitBlock,
        }]
    };
    let hostile = [product(SCRIPT_NAME), product(TERA_NAME)];
    let cases = [
        (SCRIPT_NAME, HEADER_NAME),
        (SCRIPT_NAME, "<b>Bo</b> & Co"),
        (HEADER_PRODUCT, HEADER_NAME),
    ];
    for (product_name, first_name) in cases {
        let customer = customer(first_name);
        let sample = sample(&store, campaign, customer, NOW, &example.key);
        let mut occurrence = sample.occurrence.clone().unwrap();
        occurrence.products = vec![product(product_name)];
        let lists = list(&hostile);
        let input = MessageInput {
            config: &example.workspace.config,
            store: &store,
            campaign,
            customer,
            occurrence: Some(&occurrence),
            lists: &lists,
            offer: None,
            now: NOW,
            key: &example.key,
        };
        let message = renderer.render(&input).unwrap();
        assert_eq!(message, renderer.render_straightforward(&input).unwrap());
        let html = message.html();
        assert!(!html.to_lowercase().contains("<script"), "no script tag");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Soap"));
        assert!(
            html.contains("{{ 7*7 }} {% if true %}Cream{% endif %}"),
            "data is never evaluated"
        );
        assert!(!html.contains("<b>Bo</b>"));
        assert!(
            message.text().contains("<script>alert('x')</script> Soap"),
            "the text part shows names as they are"
        );
        assert_eq!(
            message.subject,
            format!(
                "Your {} is waiting, {}",
                product_name.replace("\r\n", " "),
                first_name.replace("\r\n", " ")
            )
        );
        let eml = String::from_utf8(message.eml.clone()).unwrap();
        let head = &eml[..eml.find("\r\n\r\n").unwrap()];
        for line in head.split("\r\n") {
            assert!(
                line.starts_with(' ')
                    || [
                        "From:",
                        "To:",
                        "Subject:",
                        "Date:",
                        "Message-ID:",
                        "List-Unsubscribe:",
                        "List-Unsubscribe-Post:",
                        "Reply-To:",
                        "MIME-Version:",
                        "Content-Type:"
                    ]
                    .iter()
                    .any(|name| line.starts_with(name)),
                "unexpected header line {line:?}"
            );
        }
        let to = head.split("\r\n").find(|l| l.starts_with("To: ")).unwrap();
        assert!(
            to.starts_with("To: =?utf-8?b?"),
            "the name is encoded: {to}"
        );
        assert!(
            to.ends_with(&format!(" <{}>", store.customer(customer).email)),
            "{to}"
        );
        assert!(!head.contains("\r\nBcc:"));
    }

    // 500 characters of a name: the subject is cut, the header folded.
    let long = customer(&"Ж".repeat(500));
    let sample = sample(&store, campaign, long, NOW, &example.key);
    let occurrence = sample.occurrence.clone().unwrap();
    let input = MessageInput {
        config: &example.workspace.config,
        store: &store,
        campaign,
        customer: long,
        occurrence: Some(&occurrence),
        lists: &[],
        offer: None,
        now: NOW,
        key: &example.key,
    };
    let message = renderer.render(&input).unwrap();
    assert_eq!(message.subject.chars().count(), 200);
    assert!(message.subject.ends_with('…'));
    let eml = String::from_utf8(message.eml).unwrap();
    assert!(eml.split("\r\n").all(|line| line.len() <= 998));
}
