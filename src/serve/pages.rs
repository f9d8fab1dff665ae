//! The server's pages, as HTML strings. Every text that comes from the
//! workspace (names, products, reasons, problems) goes through [`escape`].
//! The layout (two iframes, the panel, the overlay) is styled by
//! `ui/app.css`; `ui/app.js` re-fetches the message part on reload.

use std::fmt::Write;

/// The preview frames may be read by the page (same origin) and open links
/// in new tabs, but run no script: a message's HTML comes from data.
pub const FRAME_SANDBOX: &str = "allow-same-origin allow-popups allow-popups-to-escape-sandbox";

use super::{Selected, Snapshot};
use crate::calendar::rfc3339;
use crate::diagnostic::Diagnostic;
use crate::plan::view::{
    PlannedView, customer_view, describe_moment, describe_offer, describe_reason, describe_trigger,
    planned_view,
};
use crate::preview::{Candidate, Preview, PreviewError};
use crate::render::RenderError;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query or path value.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · xsell preview</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header class="top"><a href="/" class="brand">xsell preview</a><span class="live" id="live" title="Pages re-render when a template, campaign or xsell.toml changes">live</span></header>
{body}
</body>
</html>
"#,
        title = escape(title)
    )
}

/// A page that only says something (a bad request, a missing campaign).
pub fn notice_page(message: &str) -> String {
    page("Notice", &notice_fragment(message))
}

pub fn notice_fragment(message: &str) -> String {
    format!(r#"<p class="notice">{}</p>"#, escape(message))
}

/// The problems of the workspace's files (or one template error), over the page.
fn overlay(problems: &[Diagnostic], title: &str) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let mut html = format!(
        r#"<div class="overlay" id="error-overlay" role="alert"><div class="overlay-box"><h2>{}</h2>"#,
        escape(title)
    );
    for problem in problems {
        let mut place = problem.file.display().to_string();
        if problem.line > 0 {
            let _ = write!(place, ":{}", problem.line);
            if problem.column > 0 {
                let _ = write!(place, ":{}", problem.column);
            }
        }
        let _ = write!(
            html,
            r#"<div class="problem" data-file="{file}" data-line="{line}" data-column="{column}"><div class="where">{place}</div><div class="message">{message}</div>"#,
            file = escape(&problem.file.display().to_string()),
            line = problem.line,
            column = problem.column,
            place = escape(&place),
            message = escape(&problem.message),
        );
        if let Some(source) = &problem.source_line {
            let gutter = problem.line.to_string();
            let caret = if problem.column > 0 {
                format!(
                    "\n{} | {}^",
                    " ".repeat(gutter.len()),
                    " ".repeat(problem.column - 1)
                )
            } else {
                String::new()
            };
            let _ = write!(
                html,
                r#"<pre class="source">{} | {}{}</pre>"#,
                gutter,
                escape(source),
                caret
            );
        }
        html.push_str("</div>");
    }
    html.push_str(
        r#"<p class="hint">Fix the file and save: this page updates by itself. Until then, previews show the last version that worked.</p></div></div>"#,
    );
    html
}

fn workspace_overlay(snapshot: &Snapshot) -> String {
    let count = snapshot.problems.len();
    overlay(
        &snapshot.problems.0,
        &format!(
            "{count} problem{} in the workspace",
            if count == 1 { "" } else { "s" }
        ),
    )
}

/// `/`: the campaigns.
pub fn index(snapshot: &Snapshot) -> String {
    let mut body = format!(
        r#"<main class="index" data-generation="{}">{}<h1>Campaigns</h1>"#,
        snapshot.generation,
        workspace_overlay(snapshot)
    );
    match &snapshot.previewer {
        None => body.push_str(&notice_fragment(
            "The workspace has not loaded yet: fix the problems above.",
        )),
        Some(previewer) => {
            body.push_str(r#"<table class="campaigns"><thead><tr><th>Campaign</th><th>Moment</th><th>Template</th><th>Offer</th><th>Results</th></tr></thead><tbody>"#);
            for campaign in &previewer.campaigns {
                let _ = write!(
                    body,
                    r#"<tr><td><a class="campaign" href="/c/{id_url}">{name}</a><div class="id">{id}</div></td><td>{moment}</td><td><code>{template}</code></td><td>{offer}</td><td><a class="report" href="/report/{id_url}">report</a></td></tr>"#,
                    id_url = encode(&campaign.id),
                    id = escape(&campaign.id),
                    name = escape(&campaign.name),
                    moment = escape(&describe_trigger(campaign)),
                    template = escape(&campaign.template),
                    offer = escape(&describe_offer(campaign).unwrap_or_else(|| "none".into())),
                );
            }
            body.push_str("</tbody></table>");
        }
    }
    body.push_str("</main>");
    page("Campaigns", &body)
}

/// What the campaign page shows.
pub struct CampaignPage<'a> {
    pub selected: &'a Selected,
    /// The customer shown (an id), if one could be picked.
    pub customer: Option<&'a str>,
    pub pick_problem: Option<String>,
    pub query: &'a str,
    pub found: &'a [Candidate],
    /// The message part, already rendered ([`view`]).
    pub view: String,
}

/// `/c/{campaign}`: the picker and the message.
pub fn campaign(p: &CampaignPage<'_>) -> String {
    let (snapshot, previewer, campaign, now, explicit_now) = (
        &*p.selected.snapshot,
        &*p.selected.previewer,
        p.selected.campaign(),
        p.selected.now,
        p.selected.explicit_now.as_deref(),
    );
    let id_url = encode(&campaign.id);
    let now_value = explicit_now
        .map(str::to_string)
        .unwrap_or_else(|| rfc3339(now));
    let now_query = explicit_now
        .map(|n| format!("&now={}", encode(n)))
        .unwrap_or_default();
    let mut body = format!(
        r#"<main class="campaign-page"><nav class="crumbs"><a href="/">Campaigns</a> › <span>{name}</span> <code>{id}</code></nav>
<p class="moment">{moment}</p>
<form class="picker" method="get" action="/c/{id_url}">
<label>Customer <input type="search" name="q" id="customer-search" value="{query}" placeholder="id, name, email or tier"></label>
<label>Now <input type="text" name="now" id="now" value="{now}" size="22"></label>
{keep}<button type="submit">Search</button>
<a class="button" id="first-eligible" href="/c/{id_url}?customer=first-eligible{now_query}">First eligible</a>
<a class="button" id="next-eligible" href="/c/{id_url}?customer=next:{current}{now_query}">Next eligible</a>
<a class="button" id="random" href="/c/{id_url}?customer=random{now_query}">Random</a>
<a class="button" id="next-moment" href="/c/{id_url}?customer={next_customer}&now=next" title="The next time this campaign would mail">Next moment</a>
</form>"#,
        name = escape(&campaign.name),
        id = escape(&campaign.id),
        moment = escape(&describe_trigger(campaign)),
        query = escape(p.query),
        now = escape(&now_value),
        current = encode(p.customer.unwrap_or("")),
        next_customer = encode(p.customer.unwrap_or("first-eligible")),
        // Searching keeps the customer shown until another is picked.
        keep = p
            .customer
            .map(|id| format!(
                r#"<input type="hidden" name="customer" value="{}">"#,
                escape(id)
            ))
            .unwrap_or_default(),
    );
    if !p.query.trim().is_empty() {
        let store = &previewer.store;
        let _ = write!(
            body,
            r#"<table class="found" id="found"><thead><tr><th>Customer</th><th>Email</th><th>Tier</th><th>This campaign now</th></tr></thead><tbody>"#
        );
        if p.found.is_empty() {
            body.push_str(r#"<tr><td colspan="4">Nobody matches.</td></tr>"#);
        }
        for candidate in p.found {
            let c = store.customer(candidate.customer);
            let status = match (&candidate.left_out, candidate.moment) {
                (_, false) => "no open moment".to_string(),
                (None, true) => "would be mailed".to_string(),
                (Some(reason), true) => reason.clone(),
            };
            let _ = write!(
                body,
                r#"<tr><td><a href="/c/{id_url}?customer={cid_url}{now_query}">{cid}</a> {first}</td><td>{email}</td><td>{tier}</td><td>{status}</td></tr>"#,
                cid_url = encode(&c.id),
                cid = escape(&c.id),
                first = escape(&c.first_name),
                email = escape(&c.email),
                tier = escape(store.tiers().name(c.tier)),
                status = escape(&status),
            );
        }
        body.push_str("</tbody></table>");
    }
    if let Some(problem) = &p.pick_problem {
        body.push_str(&format!(
            "{}{}",
            workspace_overlay(snapshot),
            notice_fragment(problem)
        ));
    }
    body.push_str(&p.view);
    body.push_str("</main>");
    page(&campaign.name, &body)
}

/// What the message part shows.
pub struct MessagePage<'a> {
    pub selected: &'a Selected,
    pub customer: &'a str,
    pub preview: &'a Result<Preview, PreviewError>,
}

/// The message part of the campaign page: inbox line, desktop and mobile
/// frames, the panel (lists, reasons, offer, caps), links and test send.
/// `app.js` fetches it again (`data-src`) after every reload.
pub fn view(p: &MessagePage<'_>) -> String {
    let (snapshot, previewer, campaign, now, explicit_now) = (
        &*p.selected.snapshot,
        &*p.selected.previewer,
        p.selected.campaign(),
        p.selected.now,
        p.selected.explicit_now.as_deref(),
    );
    let id_url = encode(&campaign.id);
    let mut query = format!("customer={}", encode(p.customer));
    if let Some(now) = explicit_now {
        let _ = write!(query, "&now={}", encode(now));
    }
    let asked_variant = p.selected.variant.as_deref();
    if let Some(variant) = asked_variant {
        let _ = write!(query, "&variant={}", encode(variant));
    }
    let mut html = format!(
        r#"<section id="view" data-src="/c/{id_url}/view?{query}" data-generation="{generation}">{overlay}"#,
        generation = snapshot.generation,
        overlay = workspace_overlay(snapshot),
    );
    let preview = match p.preview {
        Ok(preview) => preview,
        Err(PreviewError::Render(RenderError::Template(diagnostic))) => {
            html.push_str(&overlay(
                std::slice::from_ref(diagnostic),
                "The template fails for this message",
            ));
            html.push_str("</section>");
            return html;
        }
        Err(error) => {
            html.push_str(&notice_fragment(&error.to_string()));
            html.push_str("</section>");
            return html;
        }
    };
    let store = &previewer.store;
    let customer = store.customer(preview.customer);
    let who = customer_view(store, customer);
    let planned: PlannedView = planned_view(store, &preview.message);
    let status = match &preview.left_out {
        _ if preview.sample_moment => r#"<div class="status left-out sample" id="status">Sample moment: no open moment at this time, so one was made from this customer's history — shown, never sent. Try “Next moment”.</div>"#.to_string(),
        None => r#"<div class="status would-send" id="status">Would be sent now</div>"#.to_string(),
        Some(reason) => format!(
            r#"<div class="status left-out" id="status">Would not be sent now: {} — shown anyway</div>"#,
            escape(&describe_reason(campaign, reason))
        ),
    };
    let frame_src = |part: &str| {
        format!(
            "/c/{id_url}/message.{part}?{query}&g={}",
            snapshot.generation
        )
    };
    let _ = write!(
        html,
        r#"<div class="inbox" id="inbox"><span class="from">{from}</span><span class="subject" id="subject">{subject}</span><span class="preheader" id="preheader">{preheader}</span></div>
{status}
<div class="workbench">
<div class="frames">
<figure class="frame desktop"><figcaption>Desktop · 680 px</figcaption><iframe id="desktop" title="Desktop" sandbox="{FRAME_SANDBOX}" src="{src}" width="680" height="900"></iframe></figure>
<figure class="frame mobile"><figcaption>Mobile · 375 px</figcaption><iframe id="mobile" title="Mobile" sandbox="{FRAME_SANDBOX}" src="{src}" width="375" height="900"></iframe></figure>
</div>
<aside class="panel" id="panel">"#,
        from = escape(&previewer.config.sender.from.to_string()),
        subject = escape(&preview.rendered.subject),
        preheader = escape(&preview.rendered.preheader),
        src = escape(&frame_src("html")),
    );
    let _ = write!(
        html,
        r#"<h3>Customer</h3><p id="customer"><b>{id}</b> {first} &lt;{email}&gt;<br>{tier} · {locale} · {timezone} · {currency}{tags}</p>
<h3>Moment</h3><p id="moment">{moment}</p>"#,
        id = escape(&who.id),
        first = escape(&who.first_name),
        email = escape(&who.email),
        tier = escape(store.tiers().name(customer.tier)),
        locale = escape(&who.locale),
        timezone = escape(&who.timezone),
        currency = escape(&who.currency),
        tags = if customer.tags.is_empty() {
            String::new()
        } else {
            let tags: Vec<&str> = customer
                .tags
                .iter()
                .map(|t| store.tags().name(*t))
                .collect();
            format!(" · tags {}", escape(&tags.join(", ")))
        },
        moment = escape(&describe_moment(&planned.moment)),
    );
    for list in &planned.lists {
        let _ = write!(
            html,
            r#"<h3>List <code>{name}</code></h3><ol class="list" data-list="{name}">"#,
            name = escape(&list.name)
        );
        if list.products.is_empty() {
            html.push_str(r#"<li class="empty">empty: the block is left out</li>"#);
        }
        for product in &list.products {
            let _ = write!(
                html,
                r#"<li class="product" data-product="{id}"><span class="name">{name}</span> <span class="price">{price}</span><div class="reason">{source}: {reason}</div></li>"#,
                id = escape(&product.id),
                name = escape(&product.name),
                price = escape(&product.price),
                source = escape(product.source),
                reason = escape(&product.reason),
            );
        }
        html.push_str("</ol>");
    }
    html.push_str(r#"<h3>Offer</h3><p id="offer">"#);
    match &planned.offer {
        None => html.push_str("none"),
        Some(offer) => {
            let _ = write!(
                html,
                "{} {}",
                escape(&offer.headline),
                escape(&offer.applies_to)
            );
            if let Some(min) = &offer.min_order {
                let _ = write!(html, " on orders from {}", escape(min));
            }
            if let Some(code) = &offer.code {
                let _ = write!(
                    html,
                    r#"<br>code <code id="offer-code">{}</code>"#,
                    escape(code)
                );
            }
            if let Some(day) = &offer.expires_on {
                let _ = write!(html, "<br>until {}", escape(day));
            }
        }
    }
    html.push_str("</p>");
    let in_holdout =
        crate::audience::in_holdout(&campaign.id, &customer.id, campaign.holdout_basis_points);
    let _ = write!(
        html,
        r#"<h3>Caps and holdout</h3><p id="caps">{}<br>{}</p>"#,
        match &preview.left_out {
            None => "No cap holds this message back.".to_string(),
            Some(reason) => escape(&describe_reason(campaign, reason)),
        },
        if campaign.holdout_basis_points == 0 {
            "No holdout group.".to_string()
        } else if in_holdout {
            "In the holdout group: never mailed, counted for uplift.".to_string()
        } else {
            "Not in the holdout group.".to_string()
        }
    );
    if !campaign.variants.is_empty() {
        // Each variant of the A/B test for this customer; theirs is marked.
        let mut base = format!("/c/{id_url}?customer={}", encode(p.customer));
        if let Some(now) = explicit_now {
            let _ = write!(base, "&now={}", encode(now));
        }
        let _ = write!(html, r#"<p class="variants" id="variants">A/B variant: "#);
        for variant in &campaign.variants {
            let own =
                campaign.variant_for(&customer.id).variant.as_deref() == Some(variant.id.as_str());
            let shown = preview.message.variant.as_deref() == Some(variant.id.as_str());
            let _ = write!(
                html,
                r#"<a class="variant{}" href="{}&variant={}">{}{}</a> "#,
                if shown { " shown" } else { "" },
                escape(&base),
                encode(&variant.id),
                escape(&variant.id),
                if own { " (this customer's)" } else { "" }
            );
        }
        html.push_str("</p>");
    }
    let _ = write!(
        html,
        r#"<h3>The message</h3><p class="links"><a id="text-link" href="{text}" target="_blank">Plain text</a> · <a id="eml-link" href="{eml}" target="_blank">Raw .eml</a> · <a id="landing-link" href="{landing}" target="_blank">Landing page</a> · <span class="message-id">{message_id}</span></p>"#,
        text = escape(&frame_src("txt")),
        eml = escape(&frame_src("eml")),
        landing = escape(&frame_src("eml").replace("/message.eml?", "/landing.html?")),
        message_id = escape(&preview.rendered.message_id),
    );
    if previewer.config.preview.allow_test_send {
        let _ = write!(
            html,
            r#"<h3>Send a test</h3><form class="send-test" id="send-test" method="post" action="/c/{id_url}/send-test"><input type="hidden" name="customer" value="{customer}"><input type="hidden" name="now" value="{now}"><input type="hidden" name="variant" value="{variant}"><input type="email" name="to" id="test-to" required placeholder="you@{domain}"><button type="submit" id="send-test-button">Send</button></form><div id="send-result"></div>"#,
            customer = escape(p.customer),
            now = escape(&rfc3339(now)),
            variant = escape(asked_variant.unwrap_or("")),
            domain = escape(
                previewer
                    .config
                    .preview
                    .test_recipients
                    .iter()
                    .find_map(|r| r.strip_prefix('@'))
                    .unwrap_or("example.com")
            ),
        );
    }
    html.push_str("</aside></div></section>");
    html
}
