//! `base64.encode` / `base64.decode` (cel-go `ext.Encoders`) and Kubernetes' `jsonpatch.escapeKey`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::error::{RtError, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::Value;

pub(crate) fn register(reg: &mut Registry) {
    reg.global("base64.encode", vec![sig(&[T::Bytes], T::String)], encode);
    reg.global("base64.decode", vec![sig(&[T::String], T::Bytes)], decode);
    reg.global(
        "jsonpatch.escapeKey",
        vec![sig(&[T::String], T::String)],
        escape_key,
    );
}

fn encode(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::Bytes(b)] = args else {
        return no_match();
    };
    ctx.charge_size(b.len() * 4 / 3)?;
    Ok(Value::from(STANDARD.encode(b)))
}

fn decode(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    // cel-go accepts padded and unpadded input.
    let bytes = STANDARD
        .decode(s.as_bytes())
        .or_else(|_| STANDARD_NO_PAD.decode(s.as_bytes()))
        .map_err(|e| RtError::from(format!("base64.decode: {e}")))?;
    Ok(Value::Bytes(bytes.into()))
}

/// Escapes a map key for use in a JSON Patch path (RFC 6901): `~` → `~0`, `/` → `~1`.
fn escape_key(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(s)] = args else {
        return no_match();
    };
    ctx.charge_size(s.len())?;
    Ok(Value::from(s.replace('~', "~0").replace('/', "~1")))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn encoders() {
        assert_true(&[
            "base64.encode(b'hello') == 'aGVsbG8='",
            "base64.decode('aGVsbG8=') == b'hello'",
            "base64.decode('aGVsbG8') == b'hello'",
            "string(base64.decode(base64.encode(bytes('ünï')))) == 'ünï'",
            "jsonpatch.escapeKey('k8s.io/a~b') == 'k8s.io~1a~0b'",
        ]);
        assert_err(&[("base64.decode('!!')", "base64.decode")]);
    }
}
