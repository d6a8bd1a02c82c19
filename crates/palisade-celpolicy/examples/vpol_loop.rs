//! Runs the `pss_vpol` bench iteration N times (env `N`, default 1000) for instruction counts:
//! `N=200` and `N=100` under callgrind with `--toggle-collect='vpol_loop::admit'`; the
//! difference divided by 100 is one iteration (setup cancels out). See docs/performance.md.

#[path = "../benches/support/mod.rs"]
mod support;

use std::sync::Arc;

use palisade_celpolicy::{CelData, CelRequest, CompiledValidatingPolicy, NoData};
use palisade_engine::validate::cel::inputs::Attributes;

fn main() {
    let policies = support::policies();
    let attrs = Attributes {
        operation: "CREATE".into(),
        object: support::pod(),
        ..Attributes::default()
    };
    let data: Arc<dyn CelData> = Arc::new(NoData);
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut results = 0;
    for _ in 0..n {
        results += admit(&attrs, &data, &policies);
    }
    println!("{results} rule results");
}

/// One bench iteration: the request converted once, every policy matched and evaluated.
#[inline(never)]
fn admit(
    attrs: &Attributes,
    data: &Arc<dyn CelData>,
    policies: &[CompiledValidatingPolicy],
) -> usize {
    let req = CelRequest::new(attrs, None, None, data);
    policies
        .iter()
        .map(|p| p.validate(&req, &[]).rules.len())
        .sum()
}
