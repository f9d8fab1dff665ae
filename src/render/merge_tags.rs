//! Templates written for other tools carry their merge tags —
//! `{{ FirstName }}`, `{{ contact.first_name }}`, Mailchimp's `*|FNAME|*`,
//! Salesforce's `%%FirstName%%`. Tera stops at the first kind with "variable
//! not defined"; the others would be mailed as is. Both are pointed out with
//! what xsell calls the value.

/// Other tools' names (lower case, without `_` or `.`), and xsell's.
const KNOWN: &[(&str, &str)] = &[
    ("firstname", "customer.first_name"),
    ("fname", "customer.first_name"),
    ("contactfirstname", "customer.first_name"),
    ("subscriberfirstname", "customer.first_name"),
    ("name", "customer.first_name"),
    ("email", "customer.email"),
    ("emailaddress", "customer.email"),
    ("contactemail", "customer.email"),
    ("subscriberemail", "customer.email"),
    ("unsubscribe", "unsubscribe_url"),
    ("unsub", "unsubscribe_url"),
    ("unsubscribeurl", "unsubscribe_url"),
    ("unsubscribelink", "unsubscribe_url"),
    ("company", "shop.name"),
    ("companyname", "shop.name"),
    ("listcompany", "shop.name"),
    ("shopname", "shop.name"),
    ("address", "shop.postal_address"),
    ("companyaddress", "shop.postal_address"),
    ("listaddress", "shop.postal_address"),
    ("listaddressline", "shop.postal_address"),
    ("currentyear", "now | date(format=\"%Y\")"),
];

/// What xsell calls another tool's merge tag `name`, if it knows it.
pub fn xsell_name(name: &str) -> Option<&'static str> {
    let key: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    KNOWN
        .iter()
        .find(|(other, _)| *other == key)
        .map(|(_, ours)| *ours)
}

/// A Tera message about an undefined variable, with xsell's name for it
/// when it is another tool's merge tag.
pub fn hint(message: &str) -> Option<String> {
    let name = undefined_variable(message)?;
    let ours = xsell_name(name)?;
    Some(format!(
        "{message} — `{name}` looks like another tool's merge tag: xsell calls it `{{{{ {ours} }}}}`"
    ))
}

/// The variable a Tera "not defined / not found" message names.
fn undefined_variable(message: &str) -> Option<&str> {
    let lower = message.to_ascii_lowercase();
    if !(lower.contains("not defined") || lower.contains("not found"))
        || !lower.contains("variable")
    {
        return None;
    }
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(&message[start..end])
}

/// Mailchimp (`*|FNAME|*`) and Salesforce (`%%FirstName%%`) tags in a
/// template: (byte offset, the tag, what xsell calls it).
pub fn foreign_tags(text: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    for (open, close) in [("*|", "|*"), ("%%", "%%")] {
        let mut from = 0;
        while let Some(at) = text[from..].find(open).map(|i| from + i) {
            let inner_start = at + open.len();
            let Some(length) = text[inner_start..].find(close) else {
                break;
            };
            let inner = &text[inner_start..inner_start + length];
            let plausible = !inner.is_empty()
                && inner.len() <= 40
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            if plausible {
                let tag = format!("{open}{inner}{close}");
                let ours = xsell_name(inner.rsplit(':').next().unwrap_or(inner)).map_or_else(
                    || "a Tera variable, e.g. `{{ customer.first_name }}`".to_string(),
                    |n| format!("`{{{{ {n} }}}}`"),
                );
                found.push((at, tag, ours));
                from = inner_start + length + close.len();
            } else {
                from = inner_start;
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_tools_names_are_mapped() {
        assert_eq!(xsell_name("FirstName"), Some("customer.first_name"));
        assert_eq!(
            xsell_name("contact.first_name"),
            Some("customer.first_name")
        );
        assert_eq!(xsell_name("FNAME"), Some("customer.first_name"));
        assert_eq!(xsell_name("shoe_size"), None);
        let message =
            hint("Variable `FirstName` not found in context while rendering 'x'").unwrap();
        assert!(message.contains("`{{ customer.first_name }}`"), "{message}");
    }

    #[test]
    fn mailchimp_and_salesforce_tags_are_found() {
        let found = foreign_tags("<p>Hi *|FNAME|*, 50% off, %%FirstName%%! *|UNSUB|*</p>");
        let tags: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(tags, vec!["*|FNAME|*", "%%FirstName%%", "*|UNSUB|*"]);
        assert!(found[2].2.contains("unsubscribe_url"));
        assert!(foreign_tags("width: 50%; height: 50%").is_empty());
    }
}
