//! Intermediate results of evaluation. Selecting parts of the input borrows them, and lists
//! built by projections, flattens, slices and multi-selects hold their items as they are
//! (borrowed or built) instead of copying them into a new array: `spec.[a, b][].x` copies
//! nothing. A list is copied into a JSON array only where a value is needed (function
//! arguments, comparisons, the final result).

use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::value::{NULL, is_truthy};

/// One intermediate result.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    /// A part of the input or of the expression (a literal).
    Ref(&'a Value),
    /// A value built during evaluation.
    Own(Value),
    /// An array whose items are themselves intermediate results.
    List(Vec<Val<'a>>),
}

impl<'a> Val<'a> {
    /// `null`.
    pub(crate) fn null() -> Val<'a> {
        Val::Ref(&NULL)
    }

    /// JMESPath truthiness.
    pub(crate) fn is_truthy(&self) -> bool {
        match self {
            Val::Ref(v) => is_truthy(v),
            Val::Own(v) => is_truthy(v),
            Val::List(items) => !items.is_empty(),
        }
    }

    /// True for `null`.
    pub(crate) fn is_null(&self) -> bool {
        match self {
            Val::Ref(v) => v.is_null(),
            Val::Own(v) => v.is_null(),
            Val::List(_) => false,
        }
    }
}

/// The position `i` selects in a list of `len` items (negative counts from the end).
pub(crate) fn index_position(len: usize, i: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let pos = if i < 0 { len + i } else { i };
    if pos < 0 || pos >= len {
        return None;
    }
    usize::try_from(pos).ok()
}

/// The positions a slice selects in a list of `len` items, in order.
pub(crate) fn slice_positions(
    len: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Result<Vec<usize>, Error> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            "Invalid slice, step cannot be 0",
        ));
    }
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let cap = |x: i64| -> i64 {
        if x < 0 {
            let y = x + len;
            if y < 0 {
                if step < 0 { -1 } else { 0 }
            } else {
                y
            }
        } else if x >= len {
            if step < 0 { len - 1 } else { len }
        } else {
            x
        }
    };
    let start = start.map_or(if step < 0 { len - 1 } else { 0 }, cap);
    let stop = stop.map_or(if step < 0 { -1 } else { len }, cap);
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        if let Ok(u) = usize::try_from(i)
            && i < len
        {
            out.push(u);
        }
        i += step;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        assert_eq!(index_position(3, 0), Some(0));
        assert_eq!(index_position(3, -1), Some(2));
        assert_eq!(index_position(3, 3), None);
        assert_eq!(index_position(3, -4), None);
        let s = |a, b, c| slice_positions(5, a, b, c).unwrap();
        assert_eq!(s(None, None, None), [0, 1, 2, 3, 4]);
        assert_eq!(s(Some(1), Some(3), None), [1, 2]);
        assert_eq!(s(None, None, Some(-2)), [4, 2, 0]);
        assert_eq!(s(Some(-2), None, None), [3, 4]);
        assert_eq!(s(Some(10), None, Some(-1)), [4, 3, 2, 1, 0]);
        assert!(slice_positions(5, None, None, Some(0)).is_err());
    }
}
