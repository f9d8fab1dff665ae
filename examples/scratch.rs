fn main() {
    for m in [
        "<mjml><mj-body><mj-section><mj-column><mj-text>a</mj-section></mj-body></mjml>",
        "<mjml><mj-body><mj-section><mj-column><mj-text>a</mj-text></mj-column></mj-section></mj-body>",
        "<mjml><mj-body><mj-column><mj-text>a</mj-text></mj-column></mj-body></mjml>",
        "<mjml><mj-body><mj-section><mj-column><mj-image /></mj-column></mj-section></mj-body></mjml>",
        "<mjml><mj-body><mj-section><mj-column><mj-text a=\"1\" b=>a</mj-text></mj-column></mj-section></mj-body></mjml>",
        "<mjml><mj-body><mj-section><mj-text>a</mj-text></mj-section></mj-body></mjml>",
        "<mjml><mj-head><mj-foo/></mj-head><mj-body></mj-body></mjml>",
        "<mjml><mj-body><mj-section><mj-column><mj-text>a <b>b</mj-text></mj-column></mj-section></mj-body></mjml>",
        "<mjml><mj-body><mj-section><mj-column><mj-button>a & b</mj-button></mj-column></mj-section></mj-body></mjml>",
        "<mjml><mj-body><mj-section padding=\"abc\"><mj-column width=\"xyz\"><mj-text>x</mj-text></mj-column></mj-section></mj-body></mjml>",
    ] {
        match mrml::parse(m) {
            Err(e) => println!("ERR {e:?}"),
            Ok(p) => { println!("OK warnings={:?}", p.warnings); match p.element.render(&Default::default()) { Ok(h) => println!("  rendered {}", &h[h.len().saturating_sub(0)..].len()), Err(e) => println!("  RENDER ERR {e:?}") } }
        }
    }
}
