//! `xsell check` compiles and renders every template: a broken one fails
//! with its file, line and column — MJML errors in what Tera generated
//! included — and a campaign can override a component.

use xsell::render::sample::{sample, sample_customer};
use xsell::render::{MessageInput, Renderer};
use xsell::signing::SigningKey;

use crate::render::NOW;
use crate::support::Workspace;

fn edit(workspace: &Workspace, file: &str, from: &str, to: &str) {
    let text = workspace.read(file);
    assert!(text.contains(from), "{file} has no {from:?}");
    workspace.write(file, &text.replacen(from, to, 1));
}

const TABLES: &str = "\
catalog    fixtures/catalog.csv  291 rows
customers  fixtures/customers.csv  3,000 rows
events     fixtures/events.csv  67,755 rows
";

#[test]
fn every_template_problem_is_reported_at_its_line() {
    let workspace = Workspace::example();
    edit(
        &workspace,
        "templates/browse.mjml",
        "label=\"Keep exploring\"/> }}",
        "label=\"Keep exploring\"/> }",
    );
    edit(
        &workspace,
        "templates/seasonal.mjml",
        "cta=\"Shop now\"",
        "cta={\"Shop \" | moneyy}",
    );
    edit(
        &workspace,
        "campaigns/cart-abandoned.yaml",
        "preheader: \"Still thinking it over? It goes well with these.\"",
        "preheader: \"Still thinking it over? {{ trigger.productt.name }}\"",
    );
    edit(
        &workspace,
        "templates/new_arrivals.mjml",
        "{{ <section_title title=\"New arrivals\"/> }}",
        "    <mj-section><mj-colum><mj-text>x</mj-text></mj-colum></mj-section>\n{{ <section_title title=\"New arrivals\"/> }}",
    );
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, TABLES);
    assert_eq!(
        run.stderr,
        "\
templates/browse.mjml:11:66: Found `}` but expected }}.
   |
11 | {{ <closing href={shop.website | track} label=\"Keep exploring\"/> }
   |                                                                  ^
campaigns/cart-abandoned.yaml:6:48: Field `productt` is not defined. Available fields: at, category, days, kind, metric, order, product, products, tier, views
  |
6 | preheader: \"Still thinking it over? {{ trigger.productt.name }}\"
  |                                                ^
templates/new_arrivals.mjml:7:17: MJML: unknown element `<mj-colum>` (it would be sent as is)
  |
7 |     <mj-section><mj-colum><mj-text>x</mj-text></mj-colum></mj-section>
  |                 ^
templates/seasonal.mjml:11:68: Unknown filter `moneyy`
   |
11 | {{ <product_grid products={lists.outdoors.products} cta={\"Shop \" | moneyy}/> }}
   |                                                                    ^

4 problems found
"
    );
}

#[test]
fn an_mjml_error_in_a_component_is_reported_in_the_component() {
    let workspace = Workspace::example();
    edit(
        &workspace,
        "templates/components/product_card.mjml",
        "{{ product.manufacturer }}</span>\n        </mj-text>",
        "{{ product.manufacturer }}</span>",
    );
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "\
templates/components/product_card.mjml:5:9: MJML: `<mj-text>` is not closed (`</mj-column>` comes first)
  |
5 |         <mj-text css-class=\"card\" padding=\"12px 8px 0\" font-size=\"15px\" line-height=\"1.4\">
  |         ^

1 problem found
",
        "every campaign hits it; it is reported once"
    );
}

#[test]
fn the_example_workspace_checks_clean() {
    let run = Workspace::example().xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "{TABLES}ok: 9 campaigns, 3 placements, 23 templates, 291 products, 3,000 customers, 67,755 events\n"
        )
    );
}

const BIG_PRICE: &str = "\
{% component price(price) %}<strong style=\"font-size:22px;\">ONLY {{ price.current }}</strong>{% endcomponent price %}
";

#[test]
fn a_campaign_overrides_a_component_for_itself_only() {
    let workspace = Workspace::example();
    workspace.write("templates/overrides/big_price.mjml", BIG_PRICE);
    edit(
        &workspace,
        "campaigns/spring-seasonal.yaml",
        "template: seasonal.mjml\n",
        "template: seasonal.mjml\ncomponents: { price: overrides/big_price.mjml }\n",
    );
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");

    let opened = xsell::workspace::Workspace::open(workspace.path()).unwrap();
    let renderer = Renderer::load(&opened.config, &opened.campaigns).unwrap();
    let key = SigningKey::new("test");
    let customer = sample_customer(&opened.store).unwrap();
    let text_of = |id: &str| {
        let campaign = opened.campaigns.iter().find(|c| c.id == id).unwrap();
        let sample = sample(&opened.store, campaign, customer, NOW, &key);
        let input = MessageInput {
            config: &opened.config,
            store: &opened.store,
            campaign,
            customer,
            occurrence: sample.occurrence.as_ref(),
            lists: &sample.lists,
            offer: sample.offer.as_ref(),
            now: NOW,
            key: &key,
        };
        renderer.render(&input).unwrap().text().to_string()
    };
    let spring = text_of("spring-seasonal");
    assert_eq!(spring.matches("ONLY $").count(), 4, "{spring}");
    assert!(!spring.contains("Save 20%"));
    let other = text_of("post-purchase-completion");
    assert!(!other.contains("ONLY "), "{other}");
    assert_eq!(
        other.matches("Save 15%").count(),
        4,
        "three cards and the preheader"
    );
}

#[test]
fn an_override_must_define_the_component_it_replaces() {
    let workspace = Workspace::example();
    workspace.write(
        "templates/overrides/big_price.mjml",
        &BIG_PRICE
            .replace("price(price)", "cost(price)")
            .replace("endcomponent price", "endcomponent cost"),
    );
    edit(
        &workspace,
        "campaigns/spring-seasonal.yaml",
        "template: seasonal.mjml\n",
        "template: seasonal.mjml\ncomponents: { price: overrides/big_price.mjml }\n",
    );
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "\
campaigns/spring-seasonal.yaml: components: `overrides/big_price.mjml` does not define the component `price` (it should contain `{% component price(…) %}`)

1 problem found
"
    );
}

#[test]
fn a_campaign_template_may_extend_another_campaigns_template() {
    let workspace = Workspace::example();
    workspace.write(
        "templates/browse_again.mjml",
        "{% extends \"browse.mjml\" %}\n",
    );
    let campaign = workspace
        .read("campaigns/browse-historical-fiction.yaml")
        .replace("id: browse-historical-fiction", "id: browse-again")
        .replace("template: browse.mjml", "template: browse_again.mjml");
    workspace.write("campaigns/browse-again.yaml", &campaign);
    let run = workspace.xsell(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.ends_with(
            "ok: 10 campaigns, 3 placements, 24 templates, 291 products, 3,000 customers, 67,755 events\n"
        ),
        "{}",
        run.stdout
    );
}
