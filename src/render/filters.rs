//! The filters and functions templates get on top of Tera's own:
//!
//! | in a template | gives |
//! |---|---|
//! | `{{ 24 \| money }}`, `{{ "19.99" \| money(currency="EUR") }}` | `$24.00`, `19,99 €` — the customer's currency and locale unless given |
//! | `{{ 15 \| percent }}` | `15%`, `15 %` in French |
//! | `{{ 4.8 \| stars }}` | `★★★★½` (rounded down to the half star) |
//! | `{{ ts \| date }}`, `date(format="short" \| "datetime" \| "%A %-d")` | Unix seconds as a date in the customer's time zone and language |
//! | `{{ url \| track }}`, `{{ track(url=shop.website) }}` | the link with the campaign's `utm` parameters |
//! | `{{ n \| plural(one="workout", other="workouts") }}` | the word for `n` in the customer's language's plural rule |
//!
//! Filters that depend on the customer (money, percent, date, plural) read
//! `customer` from the scope they run in. Components have their own scope:
//! a component using them declares the implicit parameter `@customer`.

use std::str::FromStr;
use std::sync::Arc;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use tera::{Kwargs, State, Tera, TeraResult, Value};

use super::format::{self, DateStyle};
use super::tracking::Tracker;
use crate::data::Currency;
use crate::money;

/// Registers every filter and function; `tracker` adds the campaign's UTM parameters.
pub fn register(tera: &mut Tera, tracker: &Arc<Tracker>) {
    tera.register_filter("money", money_filter);
    tera.register_filter("percent", percent_filter);
    tera.register_filter("stars", stars_filter);
    tera.register_filter("date", date_filter);
    tera.register_filter("plural", plural_filter);
    let filter_tracker = Arc::clone(tracker);
    tera.register_filter("track", move |url: &str, _: Kwargs, _: &State| {
        filter_tracker.track(url)
    });
    let function_tracker = Arc::clone(tracker);
    tera.register_function("track", move |kwargs: Kwargs, _: &State| {
        kwargs
            .must_get::<&str>("url")
            .map(|url| function_tracker.track(url))
    });
}

/// What the customer-dependent filters need from the scope.
struct Reader {
    locale: String,
    currency: Option<String>,
    timezone: Option<String>,
}

fn reader(state: &State, filter: &str) -> TeraResult<Reader> {
    let customer: Option<Value> = state.get("customer")?;
    let Some(customer) = customer.filter(|c| c.is_map()) else {
        return Err(tera::Error::message(format!(
            "the `{filter}` filter needs `customer` in scope: inside a component, add `@customer` to its parameters"
        )));
    };
    let field = |name: &str| {
        customer
            .get_from_path(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    Ok(Reader {
        locale: field("locale").unwrap_or_else(|| "en-US".to_string()),
        currency: field("currency"),
        timezone: field("timezone"),
    })
}

/// A number or a decimal string as an exact decimal (a float goes through
/// its shortest decimal spelling, so `19.99` stays 19.99).
fn decimal(value: &Value, filter: &str) -> TeraResult<Decimal> {
    let parsed = if let Some(text) = value.as_str() {
        Decimal::from_str(text.trim()).ok()
    } else if let Some(integer) = value.as_i64() {
        Some(Decimal::from(integer))
    } else if let Some(float) = value.as_f64() {
        Decimal::from_str(&float.to_string()).ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        tera::Error::message(format!(
            "the `{filter}` filter expects a number or a decimal string, got `{}`",
            value.name()
        ))
    })
}

fn money_filter(value: &Value, kwargs: Kwargs, state: &State) -> TeraResult<String> {
    let amount = decimal(value, "money")?;
    let given_currency = kwargs.get::<&str>("currency")?;
    let given_locale = kwargs.get::<&str>("locale")?;
    let (locale, currency) = match (given_locale, given_currency) {
        (Some(locale), Some(currency)) => (locale.to_string(), currency.to_string()),
        _ => {
            let reader = reader(state, "money")?;
            (
                given_locale.map_or(reader.locale, str::to_string),
                given_currency
                    .map(str::to_string)
                    .or(reader.currency)
                    .unwrap_or_else(|| "USD".to_string()),
            )
        }
    };
    let currency = Currency::parse(&currency).ok_or_else(|| {
        tera::Error::message(format!(
            "`{currency}` is not a currency code like `USD` or `EUR`"
        ))
    })?;
    Ok(money::format(amount, currency, &locale))
}

fn percent_filter(value: &Value, _: Kwargs, state: &State) -> TeraResult<String> {
    let number = decimal(value, "percent")?;
    let reader = reader(state, "percent")?;
    Ok(format::percent(
        number.try_into().unwrap_or_default(),
        &reader.locale,
    ))
}

fn stars_filter(value: &Value, _: Kwargs, _: &State) -> TeraResult<String> {
    let number = decimal(value, "stars")?;
    Ok(format::stars(number.try_into().unwrap_or_default()))
}

fn date_filter(value: &Value, kwargs: Kwargs, state: &State) -> TeraResult<String> {
    let seconds = value.as_i64().ok_or_else(|| {
        tera::Error::message(format!(
            "the `date` filter expects Unix seconds (an integer), got `{}`",
            value.name()
        ))
    })?;
    let reader = reader(state, "date")?;
    let timezone: Tz = reader
        .timezone
        .as_deref()
        .and_then(|name| name.parse().ok())
        .unwrap_or(Tz::UTC);
    let format = kwargs.get::<&str>("format")?.unwrap_or("long");
    Ok(match DateStyle::parse(format) {
        Some(style) => format::date(seconds, timezone, &reader.locale, style),
        None => format::date_with(seconds, timezone, &reader.locale, format),
    })
}

fn plural_filter(value: &Value, kwargs: Kwargs, state: &State) -> TeraResult<String> {
    let count: f64 = decimal(value, "plural")?.try_into().unwrap_or_default();
    let one = kwargs.must_get::<&str>("one")?;
    let other = kwargs.must_get::<&str>("other")?;
    let reader = reader(state, "plural")?;
    Ok(if format::is_singular(count, &reader.locale) {
        one.to_string()
    } else {
        other.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> Result<String, String> {
        let mut tera = Tera::new();
        register(
            &mut tera,
            &Arc::new(Tracker::new(&std::collections::BTreeMap::from([(
                "source".to_string(),
                "xsell".to_string(),
            )]))),
        );
        tera.add_raw_template("t", template)
            .map_err(|e| e.to_string())?;
        let mut context = tera::Context::new();
        context.insert_value(
            "customer",
            Value::from(std::collections::BTreeMap::from([
                ("locale", Value::from("fr-FR")),
                ("currency", Value::from("EUR")),
                ("timezone", Value::from("Europe/Paris")),
            ])),
        );
        tera.render("t", &context).map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        })
    }

    #[test]
    fn filters_use_the_customers_locale_and_currency() {
        assert_eq!(
            render("{{ 24 | money }} {{ \"19.99\" | money(currency=\"USD\", locale=\"en-US\") }}"),
            Ok("24,00\u{a0}€ $19.99".to_string())
        );
        assert_eq!(render("{{ 15 | percent }}"), Ok("15\u{202f}%".to_string()));
        assert_eq!(render("{{ 4.8 | stars }}"), Ok("★★★★½".to_string()));
        assert_eq!(
            render("{{ 1795408200 | date }} / {{ 1795408200 | date(format=\"short\") }}"),
            Ok("23 novembre 2026 / 23/11/2026".to_string())
        );
        assert_eq!(
            render("{{ 0 | plural(one=\"séance\", other=\"séances\") }}"),
            Ok("séance".to_string())
        );
        assert_eq!(
            render("{{ \"https://shop.example/p?a=1\" | track }} {{ track(url=\"https://shop.example/\") }}"),
            Ok("https://shop.example/p?a=1&utm_source=xsell https://shop.example/?utm_source=xsell".to_string())
        );
    }

    #[test]
    fn a_component_without_the_customer_gets_a_clear_error() {
        let error = render(
            "{% component price(amount) %}{{ amount | money }}{% endcomponent price %}{{ <price amount={3}/> }}",
        )
        .unwrap_err();
        assert!(
            error.contains("add `@customer` to its parameters"),
            "{error}"
        );
        assert_eq!(
            render(
                "{% component price(amount, @customer) %}{{ amount | money }}{% endcomponent price %}{{ <price amount={3}/> }}"
            ),
            Ok("3,00\u{a0}€".to_string())
        );
    }

    #[test]
    fn money_refuses_what_is_not_a_number() {
        let error = render("{{ \"abc\" | money }}").unwrap_err();
        assert!(
            error.contains("the `money` filter expects a number or a decimal string"),
            "{error}"
        );
    }
}
