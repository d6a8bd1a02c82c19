//! Policy files: load arbitrary bytes; compile the policies that decode and evaluate them
//! on a fixed Pod.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_api::load::{PolicyDocument, load_policy_documents};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(docs) = load_policy_documents("fuzz.yaml", text) else {
        return;
    };
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "securityContext": {"privileged": false}}]}
    });
    for doc in docs {
        if let PolicyDocument::Policy(policy) = doc.value
            && let Ok(compiled) = palisade_engine::compile(*policy)
        {
            let _ = palisade_engine::validate_resource(&compiled, pod.clone());
        }
    }
});
