//! `xsell offer verify CODE`: whose offer code is this? Recomputes the
//! owner part of the code for every customer of every campaign with unique
//! codes in the workspace (see [`crate::offer::code`]), and, given
//! `--occurrence KEY`, checks the moment part too.

use serde::Serialize;

use crate::campaign::CodeSpec;
use crate::cli::{Format, Global};
use crate::error::{Error, Result};
use crate::offer::code;
use crate::signing::SigningKey;
use crate::workspace::Workspace;

#[derive(Serialize)]
struct Verification {
    code: String,
    valid: bool,
    /// Every (campaign, customer) the code belongs to (one, unless the 40-bit owner part collides).
    owners: Vec<Owner>,
    /// `true`/`false` when `--occurrence` was given, `null` when not checked.
    occurrence_matches: Option<bool>,
    development_key: bool,
}

#[derive(Serialize)]
struct Owner {
    campaign: String,
    customer: String,
    email: String,
}

pub fn verify(global: &Global, text: &str, occurrence: Option<&str>) -> Result<i32> {
    let Some(parsed) = code::parse(text) else {
        return Err(Error::usage(format!(
            "`{text}` is not an xsell offer code (they look like PPC-7K2M-QX4R-9WHB)"
        )));
    };
    let (workspace, _) = Workspace::open_lenient(&global.workspace)?;
    let key = SigningKey::from_config(&workspace.config);
    let store = &*workspace.store;
    let campaigns: Vec<&str> = workspace
        .campaigns
        .iter()
        .filter(|c| c.offer.as_ref().is_some_and(|o| o.code == CodeSpec::Unique))
        .map(|c| c.id.as_str())
        .collect();
    let customers: Vec<&str> = store.customers().iter().map(|c| &*c.id).collect();
    let owners = code::find_owners(&key, &parsed, &campaigns, &customers);
    let occurrence_matches = occurrence.map(|occurrence| {
        owners
            .iter()
            .any(|(campaign, customer)| parsed.for_occurrence(&key, campaign, customer, occurrence))
    });
    let verification = Verification {
        code: parsed.canonical(),
        valid: !owners.is_empty() && occurrence_matches != Some(false),
        owners: owners
            .iter()
            .map(|(campaign, customer)| Owner {
                campaign: campaign.to_string(),
                customer: customer.to_string(),
                email: store
                    .customer_ix(customer)
                    .map(|c| store.customer(c).email.to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        occurrence_matches,
        development_key: key.is_development(),
    };
    match global.format {
        Format::Json => super::print_json(&verification)?,
        Format::Text => print_text(
            &verification,
            &workspace.config.secrets.signing_key_env,
            occurrence,
        ),
    }
    Ok(if verification.valid { 0 } else { 1 })
}

fn print_text(v: &Verification, key_env: &str, occurrence: Option<&str>) {
    if v.development_key {
        crate::stderr::note(&format!(
            "{key_env} is not set; checking against the development key"
        ));
    }
    if v.owners.is_empty() {
        println!(
            "{}: not valid — no campaign with unique codes in this workspace made it for any customer",
            v.code
        );
        return;
    }
    for owner in &v.owners {
        println!(
            "{}: campaign {}, customer {} <{}>",
            v.code, owner.campaign, owner.customer, owner.email
        );
    }
    match (v.occurrence_matches, occurrence) {
        (Some(true), Some(key)) => println!("made for the moment {key}"),
        (Some(false), Some(key)) => println!("not valid: not made for the moment {key}"),
        _ => println!(
            "the moment part is not checked: pass --occurrence KEY (the moment's key, as `xsell plan` shows it) to check it"
        ),
    }
}
