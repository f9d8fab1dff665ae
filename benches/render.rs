//! Render + MIME throughput on the post-purchase example (3 products, an
//! offer, ~35 KB of HTML), one thread, so the figures are per core:
//!
//! - Tera + mrml only: the HTML, nothing else (for comparison with other
//!   template engines);
//! - naive: Tera → mrml → html2text → lettre choosing the body encoding
//!   itself (quoted-printable for mrml's long lines) — what one writes first;
//! - straightforward: the same steps, with xsell's short lines and 8-bit
//!   bodies ([`Renderer::render_straightforward`]);
//! - fast: mrml and html2text once per message shape ([`Renderer::render`]),
//!   byte-identical to straightforward.
//!
//! `cargo bench --bench render` (release build). Prints figures; asserts
//! nothing about time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use xsell::render::sample::{Sample, sample};
use xsell::render::{MessageInput, Renderer};
use xsell::signing::SigningKey;
use xsell::workspace::Workspace;

/// 2026-11-16T09:00:00Z, the end of the example data.
const NOW: i64 = 1_794_819_600;
const MESSAGES: usize = 2_000;

fn main() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = Workspace::open(&root).unwrap_or_else(|e| panic!("{e}"));
    let campaign = workspace
        .campaigns
        .iter()
        .find(|c| c.id == "post-purchase-completion")
        .expect("the post-purchase example");
    let key = SigningKey::new("bench-signing-key");
    let store = &workspace.store;
    let customers: Vec<u32> = (0..store.customers().len() as u32)
        .filter(|&c| store.customer(c).consent && store.order_count(c) > 0)
        .take(MESSAGES)
        .collect();
    let samples: Vec<Sample> = customers
        .iter()
        .map(|&c| sample(store, campaign, c, NOW, &key))
        .collect();
    let inputs: Vec<MessageInput<'_>> = samples
        .iter()
        .map(|s| MessageInput {
            config: &workspace.config,
            store,
            campaign,
            customer: s.customer,
            occurrence: s.occurrence.as_ref(),
            lists: &s.lists,
            offer: s.offer.as_ref(),
            now: NOW,
            key: &key,
        })
        .collect();
    let renderer =
        Renderer::load(&workspace.config, &workspace.campaigns).unwrap_or_else(|e| panic!("{e}"));

    let first = renderer.render(&inputs[0]).unwrap();
    let html_kb: f64 = inputs
        .iter()
        .take(200)
        .map(|i| renderer.render_straightforward(i).unwrap().html().len() as f64 / 1024.0)
        .sum::<f64>()
        / 200.0;
    println!(
        "post-purchase example: {} messages, {} products per list, HTML {:.1} KB on average, message {:.1} KB",
        inputs.len(),
        samples[0].lists[0].items.len(),
        html_kb,
        first.eml.len() as f64 / 1024.0
    );

    if std::env::args().any(|a| a == "--count") {
        // For `valgrind --tool=callgrind --toggle-collect=*measured_render*`:
        // instruction counts do not depend on what else the machine does.
        for input in &inputs {
            renderer.render(input).unwrap();
        }
        for input in &inputs[..200] {
            black_box(measured_render(&renderer, input));
        }
        return;
    }
    if std::env::args().any(|a| a == "--profile-mjml") {
        for _ in 0..30 {
            time(&inputs, |input| {
                renderer.render_mjml(input).unwrap().1.len()
            });
        }
        return;
    }
    if std::env::args().any(|a| a == "--profile-fast") {
        // For `perf record`: the fast path only, many times over.
        for _ in 0..20 {
            time(&inputs, |input| renderer.render(input).unwrap().eml.len());
        }
        return;
    }
    if std::env::args().any(|a| a == "--stages") {
        for _ in 0..3 {
            let fast = time(&inputs, |input| renderer.render(input).unwrap().eml.len());
            let mjml = time(&inputs, |input| {
                renderer.render_mjml(input).unwrap().1.len()
            });
            report("fast", fast);
            report("context, subject, preheader, Tera", mjml);
        }
        let message = renderer.render(&inputs[0]).unwrap();
        let from = &inputs[0].config.sender.from;
        let assemble = time(&inputs, |_| {
            let head = xsell::render::mime::Head {
                from,
                reply_to: None,
                to: "Ana <ana@example.com>".parse().unwrap(),
                subject: &message.subject,
                date: NOW,
                message_id: message.message_id.clone(),
                list_unsubscribe: "<https://shop.example/u>".to_string(),
                boundary: "xsell-0123456789abcdef01234567".to_string(),
            };
            let html = (
                message.html().to_string(),
                xsell::render::mime::Encoding::EightBit,
            );
            let text = (
                message.text().to_string(),
                xsell::render::mime::Encoding::EightBit,
            );
            xsell::render::mime::assemble(head, text, html)
                .unwrap()
                .eml
                .len()
        });
        report("lettre (with the body copies)", assemble);
        let memo = xsell::render::context::Memo::new(&campaign.utm);
        let context = time(&inputs, |input| {
            let context = xsell::render::context::build(input, "https://shop.example/u", &memo);
            context.get("lists").is_some() as usize
        });
        report("context", context);
        return;
    }
    // First pass: every new message shape is compiled (and checked against
    // the straightforward path); then the steady state. The fast path is
    // measured first, before the other paths have churned the allocator.
    let cold = {
        let start = cpu_time();
        for input in &inputs {
            black_box(renderer.render(input).unwrap().eml.len());
        }
        (cpu_time() - start) / inputs.len() as u32
    };
    let stats = renderer.stats(&campaign.id);
    let fast = time(&inputs, |input| renderer.render(input).unwrap().eml.len());
    let tera_mrml = time(&inputs[..inputs.len() / 4], |input| {
        let (_, mjml) = renderer.render_mjml(input).unwrap();
        mrml::parse(&mjml)
            .unwrap()
            .element
            .render(&Default::default())
            .unwrap()
            .len()
    });
    // With a DKIM signature (RSA-2048, the common key size).
    let pem = std::fs::read_to_string(root.join("tests/xsell/dkim/test-key.pem")).unwrap();
    let signer = xsell::render::dkim::DkimSigner::from_pem("shop.example", "xsell", &pem).unwrap();
    let (sources, _) = xsell::render::templates::TemplateSources::read(
        &workspace.config.templates_dir,
        &workspace.config.root,
    );
    let signing = Renderer::new(sources, &workspace.campaigns, Some(signer)).unwrap();
    for input in &inputs {
        signing.render(input).unwrap();
    }
    let signed = time(&inputs[..inputs.len() / 4], |input| {
        signing.render(input).unwrap().eml.len()
    });
    let naive = time(&inputs[..inputs.len() / 4], |input| naive(&renderer, input));
    let straightforward = time(&inputs[..inputs.len() / 4], |input| {
        renderer.render_straightforward(input).unwrap().eml.len()
    });

    println!();
    println!(
        "{:<44} {:>12} {:>14}",
        "path (one thread, CPU time)", "µs/message", "messages/s"
    );
    report("Tera + mrml only (no text part, no MIME)", tera_mrml);
    report("naive (Tera, mrml, html2text, lettre QP)", naive);
    report("straightforward (8-bit bodies)", straightforward);
    report("fast, first pass (compiles new shapes)", cold);
    report("fast, steady state", fast);
    report("fast, steady state, DKIM-signed (RSA-2048)", signed);
    println!();
    println!(
        "shapes compiled: {} (+{} rendered straightforwardly) for {} messages",
        stats.fill_skeletons,
        stats.straightforward_skeletons,
        inputs.len()
    );
    println!(
        "fast / naive: {:.1}×   fast / straightforward: {:.1}×",
        naive.as_secs_f64() / fast.as_secs_f64(),
        straightforward.as_secs_f64() / fast.as_secs_f64()
    );
    let same = inputs
        .iter()
        .take(200)
        .all(|i| renderer.render(i).unwrap() == renderer.render_straightforward(i).unwrap());
    println!("fast == straightforward on 200 messages: {same}");
}

#[inline(never)]
fn measured_render(renderer: &Renderer, input: &MessageInput<'_>) -> usize {
    renderer.render(input).unwrap().eml.len()
}

/// CPU time of this thread so far: the figures are per core even when
/// other processes share the machine (wall-clock time otherwise).
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .map_or_else(|| wall_clock().elapsed(), Duration::from_nanos)
}

fn wall_clock() -> &'static Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now)
}

/// CPU time per message over `inputs`: the best of a few rounds, since
/// other work on a shared machine can only make a round slower.
fn time(inputs: &[MessageInput<'_>], mut run: impl FnMut(&MessageInput<'_>) -> usize) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let start = cpu_time();
            let mut bytes = 0;
            for input in inputs {
                bytes += run(input);
            }
            black_box(bytes);
            (cpu_time() - start) / inputs.len() as u32
        })
        .min()
        .unwrap_or_default()
}

/// Rounds per measurement.
const ROUNDS: usize = 3;

fn report(name: &str, per_message: Duration) {
    println!(
        "{:<44} {:>12.1} {:>14.0}",
        name,
        per_message.as_secs_f64() * 1e6,
        1.0 / per_message.as_secs_f64()
    );
}

/// The first thing one writes: Tera, mrml, html2text, and lettre picking
/// the body encodings itself (mrml's long lines make it quoted-printable).
fn naive(renderer: &Renderer, input: &MessageInput<'_>) -> usize {
    let (subject, mjml) = renderer.render_mjml(input).unwrap();
    let html = mrml::parse(&mjml)
        .unwrap()
        .element
        .render(&Default::default())
        .unwrap();
    let text = html2text::from_read(html.as_bytes(), 78).unwrap();
    let email = lettre::Message::builder()
        .from(input.config.sender.from.clone())
        .to("customer@example.com".parse().unwrap())
        .subject(subject)
        .multipart(lettre::message::MultiPart::alternative_plain_html(
            text, html,
        ))
        .unwrap();
    email.formatted().len()
}
