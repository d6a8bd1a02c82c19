//! CEL policy types in `apply` and `test`: ValidatingPolicies, ValidatingAdmissionPolicies
//! with their bindings and CEL PolicyExceptions are loaded beside classic policies and
//! evaluated on every resource (and JSON payload), answering Kyverno's CEL libraries offline
//! from the test's context file, parameter and cluster resources and recorded responses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use palisade_api::cli::Test;
use palisade_api::load::LoadError;
use palisade_celpolicy::api::{CelDocument, PolicyBinding};
use palisade_celpolicy::libs::{global_entry_not_found, resource_not_found};
use palisade_celpolicy::{
    CelData, CelRequest, CompiledException, CompiledMap, CompiledMutatingPolicy,
    CompiledValidatingPolicy, CompiledVap,
};
use palisade_engine::validate::cel::gvr;
use palisade_engine::validate::cel::inputs::Attributes;
use serde_json::{Value, json};

use crate::files;
use crate::run::{Outcome, Run};
use crate::source::OfflineData;

/// The CEL policies and exceptions found among loaded documents.
#[derive(Default)]
pub struct CelPolicies {
    vpols: Vec<CompiledValidatingPolicy>,
    vaps: Vec<CompiledVap>,
    bindings: Vec<PolicyBinding>,
    mpols: Vec<CompiledMutatingPolicy>,
    maps: Vec<CompiledMap>,
    map_bindings: Vec<PolicyBinding>,
    exceptions: Vec<CompiledException>,
}

impl CelPolicies {
    /// How many CEL policies were loaded (bindings and exceptions are not policies).
    pub fn len(&self) -> usize {
        self.vpols.len() + self.vaps.len() + self.mpols.len() + self.maps.len()
    }

    /// True when nothing was loaded.
    pub fn is_empty(&self) -> bool {
        self.vpols.is_empty()
            && self.vaps.is_empty()
            && self.mpols.is_empty()
            && self.maps.is_empty()
    }

    fn bind(&mut self, b: PolicyBinding) {
        if let Some(v) = self
            .vaps
            .iter_mut()
            .find(|v| v.policy.metadata.name == b.spec.policy_name)
        {
            v.bindings.push(b.clone());
        }
        self.bindings.push(b);
    }

    fn bind_map(&mut self, b: PolicyBinding) {
        if let Some(m) = self
            .maps
            .iter_mut()
            .find(|m| m.policy.metadata.name == b.spec.policy_name)
        {
            m.bindings.push(b.clone());
        }
        self.map_bindings.push(b);
    }
}

/// Routes a loaded document of a CEL kind into `set`; `None` for other kinds.
pub fn add(
    set: &mut CelPolicies,
    file: &str,
    line: usize,
    api_version: &str,
    kind: &str,
    value: &Value,
) -> Option<Result<(), LoadError>> {
    let doc = match palisade_celpolicy::api::decode_at(file, line, api_version, kind, value)? {
        Ok(d) => d,
        Err(e) => return Some(Err(e)),
    };
    let located = |e: palisade_celpolicy::PolicyError| e.located(file, line);
    let result = match doc {
        CelDocument::ValidatingPolicy(p) => {
            CompiledValidatingPolicy::compile(*p).map(|c| set.vpols.push(c))
        }
        CelDocument::ValidatingAdmissionPolicy(p) => {
            CompiledVap::compile(*p, &set.bindings).map(|c| set.vaps.push(c))
        }
        CelDocument::ValidatingAdmissionPolicyBinding(b) => {
            set.bind(*b);
            Ok(())
        }
        CelDocument::Exception(e) => CompiledException::compile(*e).map(|c| set.exceptions.push(c)),
        CelDocument::MutatingPolicy(p) => {
            CompiledMutatingPolicy::compile(*p).map(|c| set.mpols.push(c))
        }
        CelDocument::MutatingAdmissionPolicy(p) => {
            CompiledMap::compile(*p, &set.map_bindings).map(|c| set.maps.push(c))
        }
        CelDocument::MutatingAdmissionPolicyBinding(b) => {
            set.bind_map(*b);
            Ok(())
        }
    };
    Some(result.map_err(located))
}

/// Offline answers for Kyverno's CEL libraries.
#[derive(Debug, Default)]
pub struct OfflineCelData {
    objects: Vec<Value>,
    http: BTreeMap<String, Value>,
    global: Vec<(String, String, Value)>,
    images: Vec<Value>,
}

fn text<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl OfflineCelData {
    fn of_resource<'s>(
        &'s self,
        api_version: &'s str,
        resource: &'s str,
    ) -> impl Iterator<Item = &'s Value> + 's {
        let (group, _) = gvr::split_api_version(api_version);
        self.objects.iter().filter(move |o| {
            text(o, "/apiVersion") == api_version
                && gvr::resource_for(group, text(o, "/kind")) == resource
        })
    }
}

impl CelData for OfflineCelData {
    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        self.of_resource(api_version, resource)
            .find(|o| {
                text(o, "/metadata/name") == name && text(o, "/metadata/namespace") == namespace
            })
            .cloned()
            .ok_or_else(|| resource_not_found(resource, name))
    }

    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Value, String> {
        let items: Vec<Value> = self
            .of_resource(api_version, resource)
            .filter(|o| namespace.is_empty() || text(o, "/metadata/namespace") == namespace)
            .cloned()
            .collect();
        Ok(json!({"apiVersion": api_version, "kind": "List", "items": items}))
    }

    fn http_get(&self, url: &str) -> Result<Value, String> {
        self.http
            .get(&format!("GET:{url}"))
            .or_else(|| self.http.get(url))
            .cloned()
            .ok_or_else(|| format!("http.Get: no mock response for URL {url:?}"))
    }

    fn http_post(&self, url: &str, _body: &Value) -> Result<Value, String> {
        self.http
            .get(&format!("POST:{url}"))
            .or_else(|| self.http.get(url))
            .cloned()
            .ok_or_else(|| format!("http.Post: no mock response for URL {url:?}"))
    }

    fn global_context(&self, name: &str, projection: &str) -> Result<Value, String> {
        self.global
            .iter()
            .find(|(n, p, _)| n == name && p == projection)
            .or_else(|| self.global.iter().find(|(n, _, _)| n == name))
            .map(|(_, _, v)| v.clone())
            .ok_or_else(|| global_entry_not_found(name))
    }

    fn image_data(&self, image: &str) -> Result<Value, String> {
        self.images
            .iter()
            .find(|i| text(i, "/image") == image)
            .cloned()
            .ok_or_else(|| format!("failed to get image data for {image:?}"))
    }
}

/// Builds the offline data of a test: its context file, parameter resources, recorded
/// responses and, when it has cluster resources, every object of the pretend cluster.
fn test_data(
    dir: &Path,
    test: &Test,
    offline: &OfflineData,
    resources: &[Value],
) -> Result<OfflineCelData> {
    let mut data = OfflineCelData::default();
    let params: Vec<_> = test.param_resources.iter().map(|p| dir.join(p)).collect();
    data.objects.extend(files::load_resources(&params)?);
    if let Some(ctx) = &test.context {
        load_context(&dir.join(ctx), &mut data)?;
    }
    let cluster_kinds = cluster_scoped_crds(&offline.cluster);
    for o in &mut data.objects {
        crate::source::default_namespace(o, &cluster_kinds);
    }
    let base = base_data(offline);
    data.objects.extend(base.objects);
    data.http.extend(base.http);
    if !offline.cluster.is_empty() {
        data.objects.extend(resources.iter().cloned());
    }
    Ok(data)
}

/// Kinds of the cluster-scoped custom resources the cluster defines.
fn cluster_scoped_crds(cluster: &[Value]) -> Vec<String> {
    cluster
        .iter()
        .filter(|r| {
            text(r, "/kind") == "CustomResourceDefinition" && text(r, "/spec/scope") == "Cluster"
        })
        .map(|r| text(r, "/spec/names/kind").to_string())
        .collect()
}

/// Cluster objects and recorded responses.
fn base_data(offline: &OfflineData) -> OfflineCelData {
    let mut data = OfflineCelData {
        objects: offline.cluster.clone(),
        ..OfflineCelData::default()
    };
    for r in &offline.responses {
        let method = r.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        let response =
            json!({"statusCode": r.response.status_code.unwrap_or(200), "body": r.response.body});
        data.http
            .insert(format!("{method}:{}", r.url), response.clone());
        data.http.entry(r.url.clone()).or_insert(response);
    }
    data
}

/// A `cli.kyverno.io` Context file: resources, images, globalContext entries, HTTP stubs.
fn load_context(path: &Path, data: &mut OfflineCelData) -> Result<()> {
    let doc = files::read_one(path)?;
    let spec = doc.get("spec").cloned().unwrap_or_default();
    let base = path.parent().unwrap_or(Path::new("."));
    let list = |k: &str| {
        spec.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    data.objects.extend(list("resources"));
    data.images.extend(list("images"));
    for g in list("globalContext") {
        let value = match g.get("valueFile").and_then(Value::as_str) {
            Some(f) => files::read_one(&base.join(f))
                .with_context(|| format!("global context value file {f}"))?,
            None => g.get("value").cloned().unwrap_or(Value::Null),
        };
        data.global.push((
            text(&g, "/name").to_string(),
            text(&g, "/projection").to_string(),
            value,
        ));
    }
    for h in list("http") {
        let body = match h.get("bodyFile").and_then(Value::as_str) {
            Some(f) => files::read_one(&base.join(f))?,
            None => h.get("body").cloned().unwrap_or(Value::Null),
        };
        let method = text(&h, "/method").to_ascii_uppercase();
        let response =
            json!({"statusCode": h.get("status").cloned().unwrap_or(json!(200)), "body": body});
        data.http.insert(
            format!(
                "{}:{}",
                if method.is_empty() { "GET" } else { &method },
                text(&h, "/url")
            ),
            response.clone(),
        );
        data.http
            .entry(text(&h, "/url").to_string())
            .or_insert(response);
    }
    Ok(())
}

/// What CEL policies read besides the resources: the data port, JSON payloads and
/// exceptions from separate files.
pub struct CelInputs {
    data: Arc<dyn CelData>,
    /// JSON payloads with the name results use for them (their file name, unless they
    /// carry `metadata.name`).
    payloads: Vec<(Value, Value)>,
    exceptions: Vec<CompiledException>,
}

impl CelInputs {
    /// The inputs of a `kyverno-test.yaml` test.
    pub fn for_test(
        dir: &Path,
        test: &Test,
        offline: &OfflineData,
        resources: &[Value],
    ) -> Result<CelInputs> {
        let mut payload_paths: Vec<_> = test.json_payloads.iter().map(|p| dir.join(p)).collect();
        if let Some(p) = &test.json_payload {
            payload_paths.push(dir.join(p));
        }
        let exception_paths: Vec<_> = test.exceptions.iter().map(|p| dir.join(p)).collect();
        Ok(CelInputs {
            data: Arc::new(test_data(dir, test, offline, resources)?),
            payloads: load_payloads(&payload_paths)?,
            exceptions: exceptions_in(&exception_paths)?,
        })
    }

    /// The inputs of `apply`: cluster data, recorded responses, exception files.
    pub fn for_apply(offline: &OfflineData, exception_paths: &[PathBuf]) -> Result<CelInputs> {
        Ok(CelInputs {
            data: Arc::new(base_data(offline)),
            payloads: Vec::new(),
            exceptions: exceptions_in(exception_paths)?,
        })
    }

    /// Evaluates the CEL policies on every resource and JSON payload: mutating admission
    /// policies, then mutating policies, then validation of the mutated resource, as Kyverno's
    /// CLI orders them.
    pub fn evaluate(&self, set: &CelPolicies, run: &Run<'_>, resources: &[Value]) -> Vec<Outcome> {
        let mut out = Vec::new();
        if set.is_empty() {
            return out;
        }
        let exceptions: Vec<&CompiledException> =
            set.exceptions.iter().chain(&self.exceptions).collect();
        for resource in resources {
            let mutated = self.mutate(set, &exceptions, run, resource, &mut out);
            let req = self.request(run, &mutated);
            self.validate(set, &exceptions, &req, &mutated, &mut out);
        }
        for (payload, named) in &self.payloads {
            let req = CelRequest::json(payload, &self.data);
            self.validate(set, &exceptions, &req, named, &mut out);
        }
        out
    }

    fn request(&self, run: &Run<'_>, resource: &Value) -> CelRequest {
        let operation = run
            .data
            .values
            .global_values
            .get("request.operation")
            .and_then(Value::as_str)
            .unwrap_or(&run.operation)
            .to_string();
        let (object, old_object) = match operation.as_str() {
            "DELETE" => (Value::Null, resource.clone()),
            "UPDATE" => (resource.clone(), resource.clone()),
            _ => (resource.clone(), Value::Null),
        };
        let attrs = Attributes {
            operation,
            object,
            old_object,
            user_info: serde_json::to_value(&run.user.user_info).unwrap_or(Value::Null),
            sub_resource: String::new(),
            dry_run: false,
        };
        let ns = text(resource, "/metadata/namespace");
        let labels = run.data.namespace_labels(ns);
        CelRequest::new(
            &attrs,
            labels.as_ref(),
            namespace_object(run, ns),
            &self.data,
        )
    }

    /// Runs the mutating policies; returns the resource they leave.
    fn mutate(
        &self,
        set: &CelPolicies,
        exceptions: &[&CompiledException],
        run: &Run<'_>,
        resource: &Value,
        out: &mut Vec<Outcome>,
    ) -> Value {
        let mut current = resource.clone();
        for p in &set.maps {
            let m = p.mutate(&self.request(run, &current), &current);
            if let Some(patched) = &m.patched {
                current = patched.clone();
            }
            out.push(mutated(resource, m.response, m.patched));
        }
        // Kyverno evaluates every MutatingPolicy against the same request and reports the
        // last patched resource with each of them.
        let req = self.request(run, &current);
        let results: Vec<_> = set
            .mpols
            .iter()
            .map(|p| p.mutate(&req, &current, exceptions))
            .collect();
        let last = results.iter().rev().find_map(|m| m.patched.clone());
        for m in results {
            out.push(mutated(resource, m.response, last.clone()));
        }
        last.unwrap_or(current)
    }

    fn validate(
        &self,
        set: &CelPolicies,
        exceptions: &[&CompiledException],
        req: &CelRequest,
        resource: &Value,
        out: &mut Vec<Outcome>,
    ) {
        for p in &set.vaps {
            out.push(outcome(resource, p.validate(req, self.data.as_ref())));
        }
        for p in &set.vpols {
            out.push(outcome(resource, p.validate(req, exceptions)));
        }
    }
}

fn mutated(
    resource: &Value,
    response: palisade_engine::PolicyResponse,
    patched: Option<Value>,
) -> Outcome {
    let mut o = outcome(resource, response);
    o.artifacts.patched = patched;
    o
}

/// The Namespace object named `ns` from the values file or the cluster resources.
fn namespace_object<'r>(run: &'r Run<'_>, ns: &str) -> Option<&'r Value> {
    if ns.is_empty() {
        return None;
    }
    run.data
        .values
        .namespaces
        .iter()
        .chain(
            run.data
                .cluster
                .iter()
                .filter(|r| text(r, "/kind") == "Namespace"),
        )
        .find(|n| text(n, "/metadata/name") == ns)
}

fn outcome(resource: &Value, response: palisade_engine::PolicyResponse) -> Outcome {
    Outcome {
        policy: response.policy.to_string(),
        resource: resource.clone(),
        response,
        artifacts: Default::default(),
    }
}

/// CEL exceptions in separate files (classic exceptions there are loaded elsewhere).
fn exceptions_in(paths: &[PathBuf]) -> Result<Vec<CompiledException>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let loaded = files::load_policies(paths).map_err(anyhow::Error::msg)?;
    Ok(loaded.cel.exceptions)
}

/// JSON payloads: every document, objects or not, each with the identity results name it by.
fn load_payloads(paths: &[PathBuf]) -> Result<Vec<(Value, Value)>> {
    let mut out = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        let source = files::read(p)?;
        let docs = palisade_api::load::parse_values(&name, &source).map_err(anyhow::Error::msg)?;
        let file = p.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        for d in docs {
            let mut named = d.value.clone();
            if text(&named, "/metadata/name").is_empty()
                && let Some(m) = named.as_object_mut()
            {
                m.insert("metadata".into(), json!({"name": file}));
            }
            if !named.is_object() {
                named = json!({"metadata": {"name": file}});
            }
            out.push((d.value, named));
        }
    }
    Ok(out)
}
