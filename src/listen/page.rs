//! The unsubscribe page: small, in the customer's language, in the shop's
//! name and colours, working without JavaScript or cookies. Its buttons are
//! forms that post back to the same link.

use super::Shared;
use super::unsubscribe::Recipient;

/// What the customer has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Left every marketing email.
    All,
    /// Left this campaign's messages.
    Campaign,
}

/// The page's words in one language; `{campaign}` and `{shop}` are filled in.
struct Words {
    lang: &'static str,
    title: &'static str,
    question: &'static str,
    leave_campaign: &'static str,
    leave_all: &'static str,
    left_campaign: &'static str,
    left_all: &'static str,
    undo: &'static str,
    undo_expired: &'static str,
    resubscribed: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    title: "Unsubscribe",
    question: "Which emails from {shop} should stop?",
    leave_campaign: "Unsubscribe from “{campaign}”",
    leave_all: "Unsubscribe from all marketing email",
    left_campaign: "You will no longer receive “{campaign}” emails.",
    left_all: "You will no longer receive marketing email from {shop}.",
    undo: "Undo",
    undo_expired: "This can no longer be undone here; contact {shop} to subscribe again.",
    resubscribed: "Done: you are subscribed again.",
};

const FRENCH: Words = Words {
    lang: "fr",
    title: "Se désabonner",
    question: "Quels e-mails de {shop} voulez-vous ne plus recevoir ?",
    leave_campaign: "Me désabonner de « {campaign} »",
    leave_all: "Me désabonner de tous les e-mails marketing",
    left_campaign: "Vous ne recevrez plus les e-mails « {campaign} ».",
    left_all: "Vous ne recevrez plus d’e-mails marketing de {shop}.",
    undo: "Annuler",
    undo_expired: "Ce choix ne peut plus être annulé ici ; contactez {shop} pour vous réabonner.",
    resubscribed: "C’est fait : vous êtes de nouveau abonné.",
};

const GERMAN: Words = Words {
    lang: "de",
    title: "Abmelden",
    question: "Welche E-Mails von {shop} möchten Sie nicht mehr erhalten?",
    leave_campaign: "Von „{campaign}“ abmelden",
    leave_all: "Von allen Marketing-E-Mails abmelden",
    left_campaign: "Sie erhalten keine „{campaign}“-E-Mails mehr.",
    left_all: "Sie erhalten keine Marketing-E-Mails von {shop} mehr.",
    undo: "Rückgängig machen",
    undo_expired: "Das lässt sich hier nicht mehr rückgängig machen; wenden Sie sich an {shop}, um sich wieder anzumelden.",
    resubscribed: "Erledigt: Sie sind wieder angemeldet.",
};

const SPANISH: Words = Words {
    lang: "es",
    title: "Darse de baja",
    question: "¿Qué correos de {shop} quiere dejar de recibir?",
    leave_campaign: "Darme de baja de «{campaign}»",
    leave_all: "Darme de baja de todos los correos de marketing",
    left_campaign: "Ya no recibirá los correos «{campaign}».",
    left_all: "Ya no recibirá correos de marketing de {shop}.",
    undo: "Deshacer",
    undo_expired: "Esto ya no se puede deshacer aquí; contacte con {shop} para suscribirse de nuevo.",
    resubscribed: "Hecho: vuelve a estar suscrito.",
};

fn words(locale: &str) -> &'static Words {
    match locale
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase()
        .as_str()
    {
        "fr" => &FRENCH,
        "de" => &GERMAN,
        "es" => &SPANISH,
        _ => &ENGLISH,
    }
}

fn escape(text: &str) -> String {
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

/// What the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The two buttons.
    Choice,
    /// What was done, with its undo.
    Left(Done),
    /// An undo went through: subscribed again (and the choice once more).
    Resubscribed,
    /// An undo asked for after the window.
    UndoExpired,
}

/// The page for `recipient`.
pub fn render(shared: &Shared, recipient: &Recipient, shown: Shown) -> String {
    let shop = &shared.config.shop;
    let w = words(&recipient.locale);
    let fill = |text: &str| {
        escape(
            &text
                .replace("{shop}", &shop.name)
                .replace("{campaign}", &recipient.campaign_name),
        )
    };
    let action = escape(&post_target(shared, recipient));
    let button = |value: &str, label: &str| {
        format!(
            r#"<form method="post" action="{action}"><input type="hidden" name="action" value="{value}"><button type="submit">{label}</button></form>"#
        )
    };
    let choice = || {
        format!(
            "<p>{}</p>{}{}",
            fill(w.question),
            button("campaign", &fill(w.leave_campaign)),
            button("all", &fill(w.leave_all)),
        )
    };
    let body = match shown {
        Shown::Choice => choice(),
        Shown::Resubscribed => format!(
            r#"<p class="done">{}</p>{}"#,
            fill(w.resubscribed),
            choice()
        ),
        Shown::UndoExpired => format!("<p>{}</p>", fill(w.undo_expired)),
        Shown::Left(Done::All) => format!(
            r#"<p class="done">{}</p>{}"#,
            fill(w.left_all),
            button("undo-all", &fill(w.undo))
        ),
        Shown::Left(Done::Campaign) => format!(
            r#"<p class="done">{}</p>{}{}"#,
            fill(w.left_campaign),
            button("undo-campaign", &fill(w.undo)),
            button("all", &fill(w.leave_all)),
        ),
    };
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} · {shop_name}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; color: #2b2b2b; margin: 0; background: #f6f4f0; }}
main {{ max-width: 32rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 6px; }}
h1 {{ color: {brand}; font-size: 1.4rem; margin-top: 0; }}
form {{ margin: 0.75rem 0; }}
button {{ background: {brand}; color: {brand_text}; border: 0; border-radius: 4px; padding: 0.7rem 1.2rem; font-size: 1rem; cursor: pointer; width: 100%; }}
.done {{ font-weight: 600; }}
</style>
</head>
<body>
<main>
<h1>{shop_name} · {title}</h1>
<p class="address">{address}</p>
{body}
</main>
</body>
</html>
"#,
        lang = w.lang,
        title = escape(w.title),
        shop_name = escape(&shop.name),
        brand = shop.brand_color,
        brand_text = shop.brand_text_color,
        address = escape(&recipient.email),
    )
}

/// The link the page's forms post to: the request's own, token included.
fn post_target(shared: &Shared, recipient: &Recipient) -> String {
    match &shared.link {
        super::unsubscribe::Link::Query { path, key } => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(key, &recipient.token)
                .finish();
            format!("{path}?{query}")
        }
        super::unsubscribe::Link::Path { prefix } => format!("{prefix}{}", recipient.token),
    }
}
