//! Mutation primitives for Kyverno `mutate` rules, over `serde_json::Value`, pure and synchronous.
//!
//! - [`strategic_merge`]: strategic merge patch (`patchStrategicMerge`), with merge keys from the
//!   Kubernetes OpenAPI spec.
//! - [`anchors::preprocess`]: Kyverno's anchors (`(key)`, `<(key)`, `+(key)`) resolved against
//!   the resource before the merge.
//! - [`json6902::Patch`]: RFC 6902 patches (`patchesJson6902`), applied with Kyverno's leniency.
//! - [`diff`]: the RFC 6902 patch between two documents, for the admission response.
//! - [`merge_patch`]: plain RFC 7386 merge patch.
//!
//! ```
//! use palisade_patch::{ConditionMatcher, Preprocessed, anchors, diff, strategic_merge};
//! use serde_json::{Value, json};
//!
//! /// The engine supplies Kyverno's pattern matching; equality is enough here.
//! struct Equal;
//! impl ConditionMatcher for Equal {
//!     fn matches(&self, resource: &Value, pattern: &Value) -> Result<bool, String> {
//!         Ok(resource == pattern)
//!     }
//! }
//!
//! let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
//!     "spec": {"containers": [{"name": "app", "image": "nginx"}]}});
//! let rule = json!({"metadata": {"labels": {"+(team)": "core"}},
//!     "spec": {"containers": [{"(image)": "nginx", "imagePullPolicy": "Always"}]}});
//!
//! let Preprocessed::Patch(patch) = anchors::preprocess(&pod, &rule, &Equal)? else {
//!     unreachable!("the conditions hold")
//! };
//! let mutated = strategic_merge(&pod, &patch, "v1", "Pod")?;
//! assert_eq!(mutated["spec"]["containers"][0]["imagePullPolicy"], "Always");
//!
//! // What the webhook sends back to the API server.
//! let ops = diff(&pod, &mutated);
//! assert_eq!(ops.to_value(), json!([
//!     {"op": "add", "path": "/metadata/labels", "value": {"team": "core"}},
//!     {"op": "add", "path": "/spec/containers/0/imagePullPolicy", "value": "Always"},
//! ]));
//! # Ok::<(), palisade_patch::PatchError>(())
//! ```
//!
//! # Strategic merge semantics
//!
//! Kyverno applies `patchStrategicMerge` with kustomize's kyaml `patchstrategicmerge` filter, not
//! with the API server's `strategicpatch` package. This crate follows kyaml where they differ:
//!
//! - Maps merge recursively; `null` deletes a key; `$patch: delete` deletes a map, `$patch:
//!   replace` replaces it, `$patch: merge` is the default.
//! - A list merges only when its field has the `merge` patch strategy; it is matched on
//!   `x-kubernetes-list-map-keys` when the spec has them, else on `x-kubernetes-patch-merge-key`
//!   (so container `ports` match on `containerPort`+`protocol`, keys missing from a patch element
//!   are ignored). Other lists are replaced. Lists of primitives with `merge` are unioned.
//! - Merged list order is kyaml's: the patch's elements first, in patch order, then the
//!   resource's other elements in their order. (The API server instead keeps resource order and
//!   puts new elements first; kustomize issue #5904.)
//! - A list element `{"$patch": "replace"}` / `{"$patch": "delete"}` replaces / clears the list;
//!   an element with `$patch: delete` and a merge key deletes the matching elements.
//! - A patch node whose kind (map, list, scalar) differs from the resource's is an error, as in
//!   kyaml (the API server would replace).
//! - Null fields of the resource are dropped wherever the merge walks (kyaml does the same).
//! - `$retainKeys`, `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>` are not
//!   supported by kyaml (it would copy them into the resource as fields); they are implemented
//!   here as the API server implements them.
//! - A patch element of a merged list without any of its merge keys is an error (the API server
//!   rejects it; kyaml would delete every resource element that has the key).
//! - Kinds the table does not know (custom resources) merge maps and replace lists, with the
//!   directives still honoured: merge patch (RFC 7386) semantics for directive-free patches.
//!
//! # The merge-key table
//!
//! `data/patch-meta.json` is generated from `api/openapi-spec/swagger.json` of the
//! `k8s.io/kubernetes` Go module and embedded with `include_str!`. To regenerate it:
//!
//! ```text
//! mkdir /tmp/k8s && cd /tmp/k8s && go mod init tmp
//! go mod download -json k8s.io/kubernetes@v1.37.2      # prints "Dir": <module dir>
//! cargo run -p palisade-patch --example gen_patch_meta -- \
//!     <module dir>/api/openapi-spec/swagger.json "k8s.io/kubernetes v1.37.2 api/openapi-spec/swagger.json" \
//!     > crates/palisade-patch/data/patch-meta.json
//! ```
//!
//! The table maps `apiVersion/kind` to a definition and, per definition and field, records the
//! referenced definition and the list strategy and keys. The current table comes from
//! Kubernetes v1.37.2 (kyaml embeds an older spec; newer kinds are the gain).
//!
//! # JSON patch leniency
//!
//! As Kyverno configures evanphx/json-patch: negative array indices count from the end, removing
//! a missing path is a no-op, `add` creates missing parents (arrays padded with nulls when the
//! next token is an index), `-` appends. A `test` for `null` passes only on a missing value.
//! Unlike evanphx, padding is capped at [`json6902::MAX_PADDING`] nulls and `copy` at
//! [`json6902::MAX_COPIED_NODES`] nodes per patch, so hostile patches stay cheap, and the whole
//! document may be replaced by any value (RFC 6902 allows it).
//!
//! # Limits
//!
//! Inputs nested deeper than 128 levels (serde_json's own parse limit) are rejected with
//! [`PatchError::TooDeep`] by the merge and the anchor walk; the diff replaces them whole.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod anchors;
mod diff;
mod error;
pub mod json6902;
mod merge_patch;
mod meta;
mod path;
mod smp;
mod value;

pub use anchors::{ConditionMatcher, Preprocessed};
pub use diff::{diff, diff_guided};
pub use error::PatchError;
pub use merge_patch::merge_patch;
pub use smp::{strategic_merge, strategic_merge_owned, strategic_merge_traced};
pub use value::json_eq;

/// Whether the embedded table knows `apiVersion`/`kind` (and so merges its lists by key).
pub fn is_known_kind(api_version: &str, kind: &str) -> bool {
    meta::table().is_ok_and(|t| t.root(api_version, kind) != meta::Ctx::Unknown)
}

/// Where the embedded merge-key table was generated from (e.g. `k8s.io/kubernetes v1.37.2 ...`).
pub fn patch_meta_source() -> &'static str {
    meta::table().map_or("unavailable", |t| t.source())
}
