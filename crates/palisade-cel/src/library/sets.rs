//! Set predicates over lists (cel-go `ext.Sets`): `sets.contains`, `sets.equivalent`, `sets.intersects`.

use crate::error::{RtError, no_match};
use crate::eval::Ctx;
use crate::eval::ops::equals_counting;
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::Value;

pub(crate) fn register(reg: &mut Registry) {
    let la = || T::list(T::Param("A"));
    reg.global(
        "sets.contains",
        vec![sig(&[la(), la()], T::Bool)],
        |c, a| with_lists(c, a, contains_all),
    );
    reg.global(
        "sets.equivalent",
        vec![sig(&[la(), la()], T::Bool)],
        |c, a| {
            with_lists(c, a, |x, y, w| {
                contains_all(x, y, w) && contains_all(y, x, w)
            })
        },
    );
    reg.global(
        "sets.intersects",
        vec![sig(&[la(), la()], T::Bool)],
        |c, a| {
            with_lists(c, a, |x, y, w| {
                y.iter().any(|v| x.iter().any(|u| equals_counting(v, u, w)))
            })
        },
    );
}

/// Runs a set predicate and charges the comparisons it made.
fn with_lists(
    ctx: &mut Ctx<'_>,
    args: &[Value],
    f: fn(&[Value], &[Value], &mut u64) -> bool,
) -> Result<Value, RtError> {
    let [Value::List(a), Value::List(b)] = args else {
        return no_match();
    };
    ctx.charge((a.len() as u64).saturating_mul(b.len() as u64))?;
    let mut work = 0;
    let r = f(a, b, &mut work);
    ctx.charge(work)?;
    Ok(Value::Bool(r))
}

fn contains_all(x: &[Value], y: &[Value], work: &mut u64) -> bool {
    y.iter()
        .all(|v| x.iter().any(|w| equals_counting(v, w, work)))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::assert_true;

    #[test]
    fn set_predicates() {
        assert_true(&[
            "sets.contains([1, 2, 3], [3, 1])",
            "sets.contains([1], [])",
            "!sets.contains([1, 2], [4])",
            "sets.contains([1.0, 2.0], dyn([2]))",
            "sets.equivalent([1, 2, 2], [2, 1])",
            "!sets.equivalent([1, 2], [1])",
            "sets.intersects([1, 2], [2, 3])",
            "!sets.intersects([1], [])",
            "!sets.intersects(['a'], ['b'])",
        ]);
    }
}
