//! `parseServiceAccount(username)` and `time.now()`.

use palisade_cel::{EnvBuilder, MapValue, Overload, Type, Value};

const SA_PREFIX: &str = "system:serviceaccount:";

/// `system:serviceaccount:<ns>:<name>` → `{Namespace, Name}`; other users give empty strings.
pub(super) fn parse_service_account(user: &str) -> (String, String) {
    user.strip_prefix(SA_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .map(|(ns, name)| (ns.to_string(), name.to_string()))
        .unwrap_or_default()
}

pub(super) fn register(env: EnvBuilder) -> EnvBuilder {
    env.function(
        "parseServiceAccount",
        vec![Overload::new(vec![Type::String], Type::Dyn)],
        |args| {
            let user = args
                .first()
                .and_then(Value::as_str)
                .ok_or("parseServiceAccount expects a string")?;
            let (ns, name) = parse_service_account(user);
            let mut m = MapValue::new();
            m.insert(
                palisade_cel::Key::String("Namespace".into()),
                Value::from(ns),
            );
            m.insert(palisade_cel::Key::String("Name".into()), Value::from(name));
            Ok(Value::map(m))
        },
    )
    .function(
        "time.now",
        vec![Overload::new(vec![], Type::Timestamp)],
        |_| Ok(Value::Timestamp(jiff::Timestamp::now())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_accounts() {
        assert_eq!(
            parse_service_account("system:serviceaccount:ns:sa"),
            ("ns".to_string(), "sa".to_string())
        );
        assert_eq!(
            parse_service_account("alice"),
            (String::new(), String::new())
        );
    }
}
