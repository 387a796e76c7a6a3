use super::*;

#[test]
fn exact_decimal_parsing() {
    let p = |s| parse_exact_decimal(s).unwrap().to_string();
    assert_eq!(p("5.0000000000000004e-08"), "0.000000050000000000000004");
    assert_eq!(p("3.4375e-07"), "0.00000034375");
    assert_eq!(p("8.75e-09"), "0.00000000875");
    assert_eq!(p("2.75e-08"), "0.0000000275");
    assert_eq!(p("0.0000025"), "0.0000025");
    assert_eq!(p("1E+2"), "100");
    assert_eq!(p("0"), "0");
    assert_eq!(p("0.0"), "0");
    assert_eq!(p("1.000e-28"), "0.0000000000000000000000000001");
    assert!(parse_exact_decimal("1e-30").unwrap_err().contains("finer"));
    assert!(parse_exact_decimal("12345678901234567890123456789").is_err());
    for bad in [
        "",
        ".",
        "e5",
        "1e",
        "1.2.3",
        "0x10",
        "NaN",
        "1e99999999999999999999",
    ] {
        assert!(parse_exact_decimal(bad).is_err(), "{bad}");
    }
    // 3.4375e-07 USD per token for a million tokens is exactly 0.34375 USD.
    let d = parse_exact_decimal("3.4375e-07").unwrap() * Decimal::from(1_000_000u32);
    assert_eq!(d.normalize().to_string(), "0.34375");
}

#[test]
fn extreme_exponents_are_errors_with_the_right_reason() {
    // `frac.len() - exp` overflowed i64 here: a panic in debug, a wrapped scale in release.
    let e = parse_exact_decimal("1e-9223372036854775808").unwrap_err();
    assert!(e.contains("finer than 1e-28"), "{e}");
    let e = parse_exact_decimal("1.5e-9223372036854775808").unwrap_err();
    assert!(e.contains("finer than 1e-28"), "{e}");
    let e = parse_exact_decimal("1e9223372036854775807").unwrap_err();
    assert!(e.contains("too large"), "{e}");
    let e = parse_exact_decimal("0.1e-9223372036854775807").unwrap_err();
    assert!(e.contains("finer than 1e-28"), "{e}");
    // Past the i64 range: the same reasons, not "not a decimal number".
    let e = parse_exact_decimal("1e99999999999999999999").unwrap_err();
    assert!(e.contains("too large"), "{e}");
    let e = parse_exact_decimal("1e-99999999999999999999").unwrap_err();
    assert!(e.contains("finer than 1e-28"), "{e}");
    assert!(parse_exact_decimal("1e+-5").is_err());
    // Zero is zero at any exponent.
    assert_eq!(
        parse_exact_decimal("0e-9223372036854775808"),
        Ok(Decimal::ZERO)
    );
}

#[test]
fn builtin_table_parses() {
    let (t, report) = PriceTable::load_json(BUILTIN_JSON, LoadMode::Strict).unwrap();
    assert_eq!(report.skipped, []);
    assert_eq!(report.loaded, t.len());
    assert!(t.len() >= 8);
    assert_eq!(t.taken(), Some(BUILTIN_PRICES_TAKEN));
}
