//! `palisade.dev/v1alpha1` UpdateRequests (deploy/crds/palisade.dev_updaterequests.yaml): the
//! persistent record of background work that the webhook writes and the controller's leader
//! does and then deletes (docs/background.md).

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, PostParams};
use palisade_admission::UpdateRequestSpec;

/// API group.
pub const GROUP: &str = "palisade.dev";
/// API version.
pub const VERSION: &str = "v1alpha1";
/// Kind.
pub const KIND: &str = "UpdateRequest";
/// Label with the policy key (`/` replaced by `.`), to find a policy's requests.
pub const POLICY_LABEL: &str = "palisade.dev/policy";

/// The kube-rs description of the resource.
pub fn api_resource() -> ApiResource {
    crate::discovery::api_resource(&format!("{GROUP}/{VERSION}"), KIND, "updaterequests")
}

/// The object for `spec` (named by the API server from `ur-`).
pub fn object(namespace: &str, spec: &UpdateRequestSpec) -> Result<DynamicObject, String> {
    let ar = api_resource();
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(
        POLICY_LABEL.to_string(),
        label_value(&spec.policy.replace('/', ".")),
    );
    let mut obj = DynamicObject::new("", &ar);
    obj.metadata = ObjectMeta {
        generate_name: Some("ur-".into()),
        namespace: Some(namespace.into()),
        labels: Some(labels),
        ..ObjectMeta::default()
    };
    obj.data = serde_json::json!({
        "spec": serde_json::to_value(spec).map_err(|e| e.to_string())?,
    });
    Ok(obj)
}

/// A label value of at most 63 characters (longer policy names are cut; the label only
/// narrows lists, the spec is authoritative).
fn label_value(s: &str) -> String {
    let cut: String = s.chars().take(63).collect();
    cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// Creates the UpdateRequests of `specs` in `namespace`; the first failure is returned.
pub async fn create_all(
    client: &Client,
    namespace: &str,
    specs: &[UpdateRequestSpec],
) -> Result<(), String> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &api_resource());
    for spec in specs {
        let obj = object(namespace, spec)?;
        api.create(&PostParams::default(), &obj)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Writes the webhook's UpdateRequests.
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    namespace: String,
}

impl Recorder {
    /// A recorder writing into Palisade's `namespace`.
    pub fn new(client: Client, namespace: &str) -> Recorder {
        Recorder {
            client,
            namespace: namespace.to_string(),
        }
    }

    /// Creates one UpdateRequest per spec.
    pub async fn record(&self, specs: &[UpdateRequestSpec]) -> Result<(), String> {
        create_all(&self.client, &self.namespace, specs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::{RequestType, TriggerRef};

    #[test]
    fn objects_carry_the_spec_and_a_policy_label() {
        let spec = UpdateRequestSpec {
            request_type: RequestType::Generate,
            policy: "team/defaults".into(),
            rules: vec!["r".into()],
            trigger: TriggerRef {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                name: "a".into(),
                ..TriggerRef::default()
            },
            ..UpdateRequestSpec::default()
        };
        let obj = object("palisade", &spec).unwrap();
        let v = serde_json::to_value(&obj).unwrap();
        assert_eq!(v["apiVersion"], "palisade.dev/v1alpha1");
        assert_eq!(v["kind"], "UpdateRequest");
        assert_eq!(v["metadata"]["generateName"], "ur-");
        assert_eq!(v["metadata"]["labels"][POLICY_LABEL], "team.defaults");
        assert_eq!(v["spec"]["policy"], "team/defaults");
        assert_eq!(v["spec"]["trigger"]["kind"], "Namespace");
        assert_eq!(label_value(&"x-".repeat(40)).len(), 63);
        assert_eq!(
            label_value(&format!("{}-b", "a".repeat(62))),
            "a".repeat(62)
        );
    }
}
