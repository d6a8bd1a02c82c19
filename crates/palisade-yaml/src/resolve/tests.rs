use super::*;

fn plain(s: &str) -> Scalar<'_> {
    resolve_plain(s)
}

fn s(v: &str) -> Scalar<'_> {
    Scalar::Str(Cow::Borrowed(v))
}

/// go-yaml v2's answers for plain scalars (derived from its resolve table).
#[test]
fn plain_scalars_like_go_yaml_v2() {
    let cases: Vec<(&str, Scalar<'_>)> = vec![
        ("", Scalar::Null),
        ("~", Scalar::Null),
        ("null", Scalar::Null),
        ("Null", Scalar::Null),
        ("NULL", Scalar::Null),
        ("nULL", s("nULL")),
        ("y", Scalar::Bool(true)),
        ("Y", Scalar::Bool(true)),
        ("yes", Scalar::Bool(true)),
        ("Yes", Scalar::Bool(true)),
        ("YES", Scalar::Bool(true)),
        ("yEs", s("yEs")),
        ("n", Scalar::Bool(false)),
        ("N", Scalar::Bool(false)),
        ("no", Scalar::Bool(false)),
        ("No", Scalar::Bool(false)),
        ("NO", Scalar::Bool(false)),
        ("true", Scalar::Bool(true)),
        ("True", Scalar::Bool(true)),
        ("TRUE", Scalar::Bool(true)),
        ("tRUE", s("tRUE")),
        ("false", Scalar::Bool(false)),
        ("False", Scalar::Bool(false)),
        ("FALSE", Scalar::Bool(false)),
        ("on", Scalar::Bool(true)),
        ("On", Scalar::Bool(true)),
        ("ON", Scalar::Bool(true)),
        ("off", Scalar::Bool(false)),
        ("Off", Scalar::Bool(false)),
        ("OFF", Scalar::Bool(false)),
        ("0", Scalar::Int(0)),
        ("-0", Scalar::Int(0)),
        ("+12", Scalar::Int(12)),
        ("-12", Scalar::Int(-12)),
        ("1_000", Scalar::Int(1000)),
        ("1__0_", Scalar::Int(10)),
        ("_1", s("_1")),
        ("0755", Scalar::Int(493)),
        ("0o755", Scalar::Int(493)),
        ("0x1F", Scalar::Int(31)),
        ("0x_1F", Scalar::Int(31)),
        ("-0x1F", Scalar::Int(-31)),
        ("0b1010", Scalar::Int(10)),
        ("-0b1010", Scalar::Int(-10)),
        ("08", Scalar::Float(8.0)),
        ("09.5", Scalar::Float(9.5)),
        ("9223372036854775807", Scalar::Int(i64::MAX)),
        (
            "9223372036854775808",
            Scalar::UInt(9_223_372_036_854_775_808),
        ),
        ("18446744073709551615", Scalar::UInt(u64::MAX)),
        (
            "18446744073709551616",
            Scalar::Float(18_446_744_073_709_551_616.0),
        ),
        (
            "-9223372036854775809",
            Scalar::Float(-9_223_372_036_854_775_809.0),
        ),
        (
            "0x10000000000000000",
            Scalar::BigInt(18_446_744_073_709_551_616.0),
        ),
        ("-0x10000000000000000", s("-0x10000000000000000")),
        ("1e3", Scalar::Float(1000.0)),
        ("1E3", Scalar::Float(1000.0)),
        ("1.5", Scalar::Float(1.5)),
        ("-1.5", Scalar::Float(-1.5)),
        ("+1.5e-3", Scalar::Float(0.0015)),
        ("1.", Scalar::Float(1.0)),
        ("2.0", Scalar::Float(2.0)),
        (".5", Scalar::Float(0.5)),
        ("-.5", Scalar::Float(-0.5)),
        ("1_000.5", Scalar::Float(1000.5)),
        ("1e400", s("1e400")),
        ("0x1p3", s("0x1p3")),
        ("1.5.6", s("1.5.6")),
        ("12:30", s("12:30")),
        ("1,000", s("1,000")),
        ("2001-12-14", s("2001-12-14")),
        ("-", s("-")),
        ("+", s("+")),
        (".", s(".")),
        ("<<", s("<<")),
        ("0x", s("0x")),
        ("infinity", s("infinity")),
        ("nan", s("nan")),
        (".iNf", s(".iNf")),
    ];
    for (input, want) in cases {
        assert_eq!(plain(input), want, "{input:?}");
    }
}

#[test]
fn special_floats() {
    for v in [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"] {
        assert_eq!(plain(v), Scalar::Float(f64::INFINITY), "{v}");
    }
    for v in ["-.inf", "-.Inf", "-.INF"] {
        assert_eq!(plain(v), Scalar::Float(f64::NEG_INFINITY), "{v}");
    }
    for v in [".nan", ".NaN", ".NAN"] {
        assert!(matches!(plain(v), Scalar::Float(f) if f.is_nan()), "{v}");
    }
    assert!(matches!(
        plain(".inf").into_value(),
        Err(ErrorKind::NonFinite(_))
    ));
}

#[test]
fn json_values() {
    let cases: Vec<(Scalar<'_>, Value)> = vec![
        (Scalar::Float(1000.0), serde_json::json!(1000)),
        (Scalar::Float(2.0), serde_json::json!(2)),
        (Scalar::Float(-0.0), serde_json::json!(0)),
        (Scalar::Float(1.5), serde_json::json!(1.5)),
        (
            Scalar::Float(1e19),
            serde_json::json!(10_000_000_000_000_000_000u64),
        ),
        (Scalar::Float(1e20), serde_json::json!(1e20)),
        (Scalar::UInt(u64::MAX), serde_json::json!(u64::MAX)),
        (Scalar::BigInt(1e30), serde_json::json!(1e30)),
        (Scalar::Null, Value::Null),
    ];
    for (scalar, want) in cases {
        assert_eq!(scalar.clone().into_value().unwrap(), want, "{scalar:?}");
    }
}

#[test]
fn keys_like_sigs_k8s_yaml() {
    let cases: Vec<(Scalar<'_>, Result<&str, ()>)> = vec![
        (Scalar::Int(1), Ok("1")),
        (Scalar::Int(-7), Ok("-7")),
        (Scalar::Bool(true), Ok("true")),
        (Scalar::Bool(false), Ok("false")),
        (Scalar::Float(1.5), Ok("1.5")),
        (Scalar::Float(1000.0), Ok("1000")),
        (Scalar::Float(1e6), Ok("1e+06")),
        (Scalar::Float(0.1), Ok("0.1")),
        (Scalar::Float(f64::INFINITY), Ok(".inf")),
        (Scalar::Float(f64::NEG_INFINITY), Ok("-.inf")),
        (Scalar::Float(f64::NAN), Ok(".nan")),
        (s("x"), Ok("x")),
        (Scalar::Null, Err(())),
        (Scalar::UInt(u64::MAX), Err(())),
        (Scalar::BigInt(1e30), Err(())),
    ];
    for (scalar, want) in cases {
        let got = scalar.clone().into_key();
        assert_eq!(got.as_deref().map_err(|_| ()), want, "{scalar:?}");
    }
}

fn core(suffix: &str) -> Tag {
    Tag {
        handle: CORE.to_owned(),
        suffix: suffix.to_owned(),
    }
}

#[test]
fn explicit_tags() {
    let ok = |text: &str, style, tag: Option<Tag>| {
        resolve_event(Cow::Borrowed(text), style, tag.as_ref())
            .unwrap()
            .into_owned()
    };
    let p = ScalarStyle::Plain;
    let q = ScalarStyle::DoubleQuoted;
    assert_eq!(ok("5", p, Some(core("str"))), s("5"));
    assert_eq!(ok("~", p, Some(core("str"))), s("~"));
    assert_eq!(ok("5", q, Some(core("int"))), Scalar::Int(5));
    assert_eq!(ok("0x1F", q, Some(core("int"))), Scalar::Int(31));
    assert_eq!(ok("1", p, Some(core("float"))), Scalar::Float(1.0));
    assert_eq!(ok("1.5", p, Some(core("float"))), Scalar::Float(1.5));
    assert_eq!(ok("yes", q, Some(core("bool"))), Scalar::Bool(true));
    assert_eq!(ok("", p, Some(core("null"))), Scalar::Null);
    assert_eq!(ok("aGVsbG8=", p, Some(core("binary"))), s("hello"));
    assert_eq!(
        ok("aGVs\nbG8=", ScalarStyle::Literal, Some(core("binary"))),
        s("hello")
    );
    assert_eq!(
        ok("2001-12-14", p, Some(core("timestamp"))),
        s("2001-12-14")
    );
    assert_eq!(ok("5", p, Some(core("map"))), s("5"));
    assert_eq!(
        ok(
            "yes",
            p,
            Some(Tag {
                handle: "!".into(),
                suffix: "custom".into()
            })
        ),
        s("yes")
    );
    assert_eq!(
        ok(
            "5",
            p,
            Some(Tag {
                handle: String::new(),
                suffix: "!".into()
            })
        ),
        s("5")
    );
    assert_eq!(
        ok(
            "5",
            p,
            Some(Tag {
                handle: String::new(),
                suffix: format!("{CORE}int")
            })
        ),
        Scalar::Int(5)
    );
    assert_eq!(ok("yes", q, None), s("yes"));
    assert_eq!(ok("", ScalarStyle::Literal, None), s(""));

    let err = |text: &str, tag: Tag| resolve_event(Cow::Borrowed(text), p, Some(&tag)).unwrap_err();
    assert_eq!(
        err("abc", core("int")).to_string(),
        "cannot decode !!str `abc` as a !!int"
    );
    assert_eq!(
        err("1.5", core("int")).to_string(),
        "cannot decode !!float `1.5` as a !!int"
    );
    assert_eq!(
        err("", core("int")).to_string(),
        "cannot decode !!null `` as a !!int"
    );
    assert_eq!(
        err("18446744073709551615", core("float")).to_string(),
        "cannot decode !!int `18446744073709551615` as a !!float"
    );
    assert_eq!(
        err("foo", core("timestamp")).to_string(),
        "cannot decode !!str `foo` as a !!timestamp"
    );
    assert_eq!(err("%%%", core("binary")), ErrorKind::InvalidBinary);
}

#[test]
fn base60() {
    for v in ["1:30", "-1:30:00", "190:20:30.15", "1_0:3"] {
        assert!(is_base60(v), "{v}");
    }
    for v in ["1:60", "a:1", "1:", ":1", "1:30a", "1.5:30"] {
        assert!(!is_base60(v), "{v}");
    }
}
