//! Compile-time checks: undeclared names, arity, type mismatches, and error positions.

use palisade_cel::{Env, Overload, Type};

fn env() -> Env {
    Env::kubernetes()
        .variable("object", Type::Dyn)
        .variable("count", Type::Int)
        .variable("name", Type::String)
        .variable("labels", Type::map(Type::String, Type::String))
        .build()
}

#[test]
fn rejects_bad_expressions_with_positions() {
    let cases: Vec<(&str, usize, usize, &str)> = vec![
        ("objekt.spec", 1, 1, "undeclared reference to 'objekt'"),
        (
            "object.spec && nope",
            1,
            16,
            "undeclared reference to 'nope'",
        ),
        (
            "frobnicate(1)",
            1,
            1,
            "undeclared reference to 'frobnicate'",
        ),
        ("name.startsWith()", 1, 5, "wrong number of arguments"),
        ("size(1, 2)", 1, 1, "wrong number of arguments"),
        (
            "count + 'a'",
            1,
            7,
            "found no matching overload for '_+_' applied to '(int, string)'",
        ),
        ("count == 'a'", 1, 7, "no matching overload for '_==_'"),
        (
            "name.size() && true",
            1,
            5,
            "expected type 'bool' but found 'int'",
        ),
        ("labels.foo + 1", 1, 12, "no matching overload"),
        ("count.foo", 1, 6, "does not support field selection"),
        ("[1, 'a']", 1, 5, "expected type 'int' but found 'string'"),
        ("name.matches('[')", 1, 14, "invalid regular expression"),
        ("int('1', 2)", 1, 1, "wrong number of arguments"),
        ("count.all(x, x)", 1, 1, "cannot be the range"),
        ("object.items.all(i, i)", 1, 1, ""),
        ("[1, 2].map(x, x + 'a')", 1, 17, "no matching overload"),
        ("count ? 1 : 2", 1, 1, "ternary condition must be 'bool'"),
        ("object.a +\n  object.b +\n  )", 3, 3, "unexpected ')'"),
        ("'abc", 1, 1, "unterminated string"),
        (
            "duration('5 minutes')",
            1,
            10,
            "cannot parse '5 minutes' as a duration",
        ),
        (
            "timestamp('yesterday') < timestamp('2024-01-01T00:00:00Z')",
            1,
            11,
            "RFC 3339",
        ),
        (
            "object.spec.\n  containers[0].image ==",
            2,
            25,
            "unexpected end of expression",
        ),
    ];
    let env = env();
    for (src, line, col, msg) in cases {
        match env.compile(src) {
            Ok(_) if msg.is_empty() => {}
            Ok(_) => panic!("{src}: expected a compile error"),
            Err(e) => {
                assert!(!msg.is_empty(), "{src}: unexpected error {e}");
                assert!(e.message.contains(msg), "{src}: {}", e.message);
                assert_eq!(
                    (e.position.line, e.position.column),
                    (line, col),
                    "{src}: {e}"
                );
            }
        }
    }
}

#[test]
fn accepts_dynamic_and_typed_expressions() {
    let env = env();
    let ok = [
        "object.spec.containers.all(c, c.image.startsWith('registry/'))",
        "count + 1 > 2",
        "labels['app'] == name",
        "labels.app.contains('x')",
        "object.metadata.?labels.?app.orValue('') == 'web'",
        "math.greatest(count, 2) > 1",
        "quantity(object.spec.cpu).isLessThan(quantity('2'))",
        "[dyn(1), 'a'].size() == 2",
        "object.x == 1 || object.y == 'b'",
        "has(object.spec) ? object.spec : {}",
    ];
    for src in ok {
        assert!(
            env.compile(src).is_ok(),
            "{src}: {:?}",
            env.compile(src).err()
        );
    }
}

#[test]
fn result_types_are_inferred() {
    let env = env();
    let cases = [
        ("count + 1", Type::Int),
        ("name + '!'", Type::String),
        ("[1, 2].map(x, x * 2)", Type::list(Type::Int)),
        ("count > 1", Type::Bool),
        ("labels.app", Type::String),
        ("object.spec", Type::Dyn),
        ("[1, 2].filter(x, x > 1)", Type::list(Type::Int)),
        ("optional.of(1)", Type::optional(Type::Int)),
    ];
    for (src, want) in cases {
        let prog = env.compile(src).unwrap();
        if want != Type::Dyn {
            assert_eq!(prog.result_type(), &want, "{src}");
        }
    }
}

#[test]
fn host_function_signatures_are_checked() {
    let env = Env::kubernetes()
        .variable("object", Type::Dyn)
        .function(
            "resource.Get",
            vec![Overload::new(vec![Type::String, Type::String], Type::Dyn)],
            |_| Ok(palisade_cel::Value::Null),
        )
        .build();
    assert!(env.compile("resource.Get('v1', 'configmaps')").is_ok());
    let e = env.compile("resource.Get(1, 'x')").unwrap_err();
    assert!(e.message.contains("no matching overload"), "{e}");
    let e = env.compile("resource.Get('v1')").unwrap_err();
    assert!(e.message.contains("wrong number of arguments"), "{e}");
}
