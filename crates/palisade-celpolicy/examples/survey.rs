//! Throwaway: compile every corpus expression.
#![allow(missing_docs, clippy::unwrap_used)]
fn main() {
    let text = std::fs::read_to_string("/tmp/celwork/exprs.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let env = &*palisade_celpolicy::env::KYVERNO;
    let mut bad = 0;
    for e in v.as_array().unwrap() {
        let src = e["expr"].as_str().unwrap();
        if let Err(err) = env.compile(src) {
            bad += 1;
            println!(
                "{} {}\n   {}\n   => {}",
                e["src"],
                e["path"],
                src.replace('\n', " "),
                err
            );
        }
    }
    println!("bad {bad}");
}
