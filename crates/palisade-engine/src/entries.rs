//! Loading rule context entries (`variable`, `configMap`, `apiCall`, `globalReference`,
//! `imageRegistry`) into the variable context.

use std::borrow::Cow;

use palisade_api::context::ContextEntry;
use serde_json::Value;

use crate::context::EvalContext;
use crate::ports::{ApiCallRequest, ContextSource, Lookup};
use crate::variables::{Mode, Resolver, substitute_all};

/// What loading needs.
pub struct Loader<'a> {
    /// Cluster data.
    pub source: &'a dyn ContextSource,
    /// Compiled expressions.
    pub cache: &'a crate::context::ExprCache,
    /// Clock.
    pub clock: &'a crate::jp::Clock,
}

impl Loader<'_> {
    /// Loads `entries` in order. Values supplied for the rule (a values file) are set first, as
    /// Kyverno's CLI does; an entry whose source is unavailable offline is left unloaded.
    pub fn load(&self, ctx: &mut EvalContext, entries: &[ContextEntry]) -> Result<(), String> {
        for entry in entries {
            match self.load_one(ctx, entry)? {
                Some(value) => ctx.set(&entry.name, value),
                None => continue,
            }
        }
        Ok(())
    }

    fn resolve(&self, ctx: &EvalContext, v: &Value) -> Result<Value, String> {
        self.resolve_cow(ctx, v).map(Cow::into_owned)
    }

    /// [`Loader::resolve`], borrowing `v` when it has no variables.
    fn resolve_cow<'v>(&self, ctx: &EvalContext, v: &'v Value) -> Result<Cow<'v, Value>, String> {
        let r = Resolver {
            ctx,
            cache: self.cache,
            clock: self.clock,
            mode: Mode::Strict,
        };
        substitute_all(v, &r).map_err(|e| e.to_string())
    }

    fn resolve_str<'s>(&self, ctx: &EvalContext, s: &'s str) -> Result<Cow<'s, str>, String> {
        // Most entries name fixed paths: no copy then.
        if !crate::variables::text_has_variables(s) {
            return Ok(Cow::Borrowed(s));
        }
        match self.resolve(ctx, &Value::String(s.to_string()))? {
            Value::String(s) => Ok(Cow::Owned(s)),
            other => Ok(Cow::Owned(crate::value::go_sprint(&other))),
        }
    }

    fn apply_jmespath(&self, ctx: &EvalContext, path: &str, data: &Value) -> Result<Value, String> {
        let path = self.resolve_str(ctx, path)?;
        let expr = self.cache.get(&path)?;
        crate::jp::search(&expr, data, self.clock).map_err(|e| match e {
            crate::jp::SearchError::NotFound(m) | crate::jp::SearchError::Other(m) => m,
        })
    }

    fn load_one(&self, ctx: &EvalContext, entry: &ContextEntry) -> Result<Option<Value>, String> {
        let name = &entry.name;
        if let Some(var) = &entry.variable {
            // Borrowed when it has no variables: most entries' queries answer, and the
            // default is copied only when it is the value.
            let default = var
                .default
                .as_ref()
                .map(|d| self.resolve_cow(ctx, d))
                .transpose()
                .map_err(|e| {
                    format!("failed to substitute variables in context entry {name}: {e}")
                })?;
            let has_default = default.is_some();
            let mut output = default;
            if let Some(value) = &var.value {
                let value = self.resolve(ctx, value).map_err(|e| {
                    format!("failed to substitute variables in context entry {name}: {e}")
                })?;
                match var.jmes_path.as_deref().filter(|p| !p.is_empty()) {
                    Some(path) => match self.apply_jmespath(ctx, path, &value) {
                        Ok(v) => output = Some(Cow::Owned(v)),
                        Err(e) if !has_default => {
                            return Err(format!(
                                "failed to apply jmespath {path} to variable {name}: {e}"
                            ));
                        }
                        Err(_) => {}
                    },
                    None => output = Some(Cow::Owned(value)),
                }
            } else if let Some(path) = var.jmes_path.as_deref().filter(|p| !p.is_empty()) {
                // A path without variables was compiled with the policy.
                let (path, r) = match self.cache.entry_path(path) {
                    Some((trimmed, compiled)) => (
                        Cow::Borrowed(path),
                        ctx.query_compiled(compiled, trimmed, self.clock),
                    ),
                    None => {
                        let path = self.resolve_str(ctx, path)?;
                        let r = ctx.query(self.cache, &path, self.clock);
                        (path, r)
                    }
                };
                match r {
                    // A null result keeps the default (Kyverno's loadVariable).
                    Ok(Value::Null) => {}
                    Ok(v) => output = Some(Cow::Owned(v)),
                    Err(e) if !has_default => {
                        return Err(format!(
                            "failed to apply jmespath {path} to variable {name}: {e}"
                        ));
                    }
                    Err(_) => {}
                }
            }
            return match output.as_deref() {
                Some(Value::Null) | None => Err(format!(
                    "unable to add context entry for variable {name} since it evaluated to nil"
                )),
                Some(_) => Ok(output.map(Cow::into_owned)),
            };
        }
        if let Some(cm) = &entry.config_map {
            let cm_name = self.resolve_str(ctx, &cm.name)?;
            let ns = self.resolve_str(ctx, cm.namespace.as_deref().unwrap_or("default"))?;
            return match self.source.config_map(&ns, &cm_name) {
                Lookup::Found(v) => Ok(Some(v)),
                Lookup::Unavailable => Ok(None),
                Lookup::Failed(e) => Err(format!(
                    "failed to retrieve config map {ns}/{cm_name} for context entry {name}: {e}"
                )),
            };
        }
        if let Some(call) = &entry.api_call {
            return self.api_call(ctx, entry, call);
        }
        if let Some(g) = &entry.global_reference {
            return match self.source.global_context(&g.name) {
                Lookup::Found(data) => match g.jmes_path.as_deref().filter(|p| !p.is_empty()) {
                    Some(p) => self.apply_jmespath(ctx, p, &data).map(Some),
                    None => Ok(Some(data)),
                },
                Lookup::Unavailable => Ok(None),
                Lookup::Failed(e) => Err(format!(
                    "failed to load global context entry {} for {name}: {e}",
                    g.name
                )),
            };
        }
        if let Some(reg) = &entry.image_registry {
            let reference = self.resolve_str(ctx, &reg.reference)?;
            return match self.source.image_data(&reference) {
                Lookup::Found(data) => match reg.jmes_path.as_deref().filter(|p| !p.is_empty()) {
                    Some(p) => self.apply_jmespath(ctx, p, &data).map(Some),
                    None => Ok(Some(data)),
                },
                // Values may supply the entry offline; otherwise say what is missing.
                Lookup::Unavailable if ctx.has_variable(name) => Ok(None),
                Lookup::Unavailable => Err(format!(
                    "context entry {name}: image data for {reference} needs registry access, \
                     which is not available here; supply {name} in a values file"
                )),
                Lookup::Failed(e) => Err(format!(
                    "failed to fetch image data for {reference} (context entry {name}): {e}"
                )),
            };
        }
        Ok(None)
    }

    fn api_call(
        &self,
        ctx: &EvalContext,
        entry: &ContextEntry,
        call: &palisade_api::context::ApiCall,
    ) -> Result<Option<Value>, String> {
        let name = &entry.name;
        let method = call.method.clone().unwrap_or_else(|| "GET".to_string());
        let (url, external) = match (&call.url_path, &call.service) {
            (_, Some(svc)) => (self.resolve_str(ctx, &svc.url)?, true),
            (Some(path), None) => (self.resolve_str(ctx, path)?, false),
            (None, None) => {
                return Err(format!(
                    "context entry {name}: apiCall needs urlPath or service"
                ));
            }
        };
        let body = match &call.data {
            Some(items) if method == "POST" => {
                let mut map = serde_json::Map::new();
                for kv in items {
                    map.insert(kv.key.clone(), self.resolve(ctx, &kv.value)?);
                }
                Some(Value::Object(map))
            }
            _ => None,
        };
        let request = ApiCallRequest {
            method,
            url: url.to_string(),
            body,
            external,
        };
        let data = match self.source.api_call(&request) {
            Lookup::Found(v) => v,
            Lookup::Unavailable => return Ok(None),
            Lookup::Failed(e) => {
                return match &call.default {
                    Some(d) => self.resolve(ctx, d).map(Some),
                    None => Err(format!(
                        "failed to load context entry {name} from {url}: {e}"
                    )),
                };
            }
        };
        match call.jmes_path.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => match self.apply_jmespath(ctx, p, &data) {
                Ok(v) => Ok(Some(v)),
                Err(e) => match &call.default {
                    Some(d) => self.resolve(ctx, d).map(Some),
                    None => Err(format!(
                        "failed to apply JMESPath {p} to the response of {url} for {name}: {e}"
                    )),
                },
            },
            None => Ok(Some(data)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoContext;
    use serde_json::json;

    fn image_entry() -> ContextEntry {
        serde_json::from_value(json!({
            "name": "imageData",
            "imageRegistry": {"reference": "ghcr.io/acme/app:1.0"}
        }))
        .unwrap()
    }

    #[test]
    fn image_registry_offline_is_an_actionable_error_unless_values_supply_it() {
        let cache = crate::context::ExprCache::default();
        let clock = crate::jp::Clock::default();
        let loader = Loader {
            source: &NoContext,
            cache: &cache,
            clock: &clock,
        };
        let mut ctx = EvalContext::new(serde_json::Map::new());
        let err = loader.load(&mut ctx, &[image_entry()]).unwrap_err();
        assert!(err.contains("needs registry access"), "{err}");
        assert!(err.contains("supply imageData in a values file"), "{err}");

        ctx.set("imageData", json!({"registry": "ghcr.io"}));
        loader.load(&mut ctx, &[image_entry()]).unwrap();
        assert_eq!(ctx.root()["imageData"]["registry"], json!("ghcr.io"));
    }
}
