//! Generate rules and mutate-existing rules in the cluster (Kyverno's background controller
//! for `generate` and `mutate.targets`). See docs/background.md, "Generate and
//! mutate-existing".
//!
//! Work comes from four places and goes through one queue, done only by the leader:
//! - **UpdateRequests** (`palisade.dev/v1alpha1`) the webhook wrote for an admitted request
//!   ([`Job::Request`]); each is deleted once done, so work survives restarts and failovers
//!   and is done once.
//! - **Generated resources** of synchronized rules, watched by Kyverno's labels
//!   ([`downstream`]): a change or deletion regenerates them, or removes them when their
//!   trigger is gone ([`Job::Resync`]).
//! - **Clone sources** of synchronized rules, watched ([`sources`]): a change is copied to
//!   the rule's downstream resources again ([`Job::SourceChanged`]), a deletion deletes the
//!   copies ([`Job::SourceGone`]).
//! - **Policy changes**: rules removed (or policies deleted) lose their synchronized downstream
//!   unless `orphanDownstreamOnPolicyDelete` ([`Job::Removed`], queued by every replica); changed policies regenerate their synchronized
//!   downstream; `generateExisting` and `mutateExistingOnPolicyUpdate` rules run for every
//!   existing trigger ([`Job::Existing`]).
//! - **Leadership**: a new leader regenerates synchronized downstream and runs
//!   `generateExisting` again (all idempotent).
//!
//! Evaluation is the engine's (`Engine::generate`, `Engine::mutate`) on a blocking thread
//! with a [`cluster::LiveSource`]; writes are server-side applies with field manager
//! `palisade` (generated resources) and replaces guarded by resourceVersion (mutated targets).

pub mod cluster;
pub mod downstream;
pub mod rules;
pub mod sources;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_admission::{
    PolicyCache, PolicySet, RequestType, ReviewEnv, TriggerRef, UpdateRequestSpec,
};
use palisade_engine::generate::Action;
use palisade_engine::matching::RequestInfo;
use palisade_engine::{CompiledPolicy, Engine, EvalContext, Inputs, Request};
use palisade_kube::updaterequest;
use serde_json::{Map, Value, json};
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::kinds::{self, Wanted};
use crate::queue::WorkQueue;
use cluster::{LiveSource, Resources};
use downstream::Downstream;
use rules::Origin;
use sources::{SourceRef, SourceWatch, Sources};

/// Jobs done at once (each is a few API round trips).
const WORKERS: usize = 4;
/// How long an UpdateRequest waits for its trigger to be stored (a CREATE is recorded before
/// the object exists; another webhook may still refuse it).
const TRIGGER_GRACE: Duration = Duration::from_secs(30);
/// How often a request waiting for its trigger looks again.
const TRIGGER_POLL: Duration = Duration::from_secs(1);
/// Attempts before an UpdateRequest is marked Failed and left alone.
const MAX_ATTEMPTS: u32 = 8;
/// Attempts of a job without an UpdateRequest.
const MAX_JOB_ATTEMPTS: u32 = 5;
/// How often the loop looks at the policy cache and leadership.
const TICK: Duration = Duration::from_millis(200);

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Job {
    /// An UpdateRequest, by name.
    Request(String),
    /// A generated resource of this origin changed or went: generate again.
    Resync(Origin),
    /// A synchronized rule was removed (or its policy deleted): its downstream goes.
    Removed {
        /// The policy key.
        policy: String,
        /// The rule.
        rule: String,
        /// The kinds it generated.
        kinds: BTreeSet<(String, String)>,
    },
    /// A clone source of a synchronized rule changed: copy it again.
    SourceChanged {
        /// The policy key.
        policy: String,
        /// The rule.
        rule: String,
    },
    /// A clone source of a synchronized rule was deleted: its copies go.
    SourceGone {
        /// The policy key.
        policy: String,
        /// The rule.
        rule: String,
        /// The deleted source.
        source: SourceRef,
    },
    /// A rule for a trigger that existed before the policy changed.
    Existing {
        /// The policy key.
        policy: String,
        /// The rule.
        rule: String,
        /// Mutate-existing (else generate).
        mutate: bool,
        /// The trigger.
        trigger: TriggerRef,
    },
}

/// What became of a job.
enum Outcome {
    Done,
    Retry(Duration, String),
}

/// The generate and mutate-existing controller.
pub struct Generator {
    client: Client,
    cache: Arc<PolicyCache>,
    env: Arc<ReviewEnv>,
    resources: Arc<Resources>,
    queue: Arc<WorkQueue<Job>>,
    downstream: Downstream,
    sources: Sources,
    requests: Store<DynamicObject>,
    namespace: String,
    excluded: Vec<String>,
    leader: watch::Receiver<bool>,
    attempts: Mutex<HashMap<Job, u32>>,
}

impl Generator {
    /// Starts the watch of UpdateRequests in `namespace` (Palisade's own); triggers in
    /// `excluded` namespaces are left alone by generateExisting.
    pub fn new(
        client: Client,
        cache: Arc<PolicyCache>,
        env: Arc<ReviewEnv>,
        leader: watch::Receiver<bool>,
        namespace: &str,
        excluded: Vec<String>,
    ) -> Arc<Generator> {
        let queue = Arc::new(WorkQueue::new());
        let requests = watch_requests(client.clone(), namespace, queue.clone());
        Arc::new(Generator {
            resources: Arc::new(Resources::new(client.clone())),
            downstream: Downstream::new(client.clone(), queue.clone()),
            sources: Sources::new(client.clone(), queue.clone()),
            client,
            cache,
            env,
            queue,
            requests,
            namespace: namespace.to_string(),
            excluded,
            leader,
            attempts: Mutex::new(HashMap::new()),
        })
    }

    /// Follows the policies and leadership and does the queued work while leading.
    pub async fn run(self: Arc<Self>) {
        while !self.cache.is_loaded() {
            tokio::time::sleep(TICK).await;
        }
        for _ in 0..WORKERS {
            tokio::spawn(self.clone().worker());
        }
        let mut current = Arc::new(PolicySet::default());
        let mut seen_generation = None;
        let mut leading = false;
        loop {
            let generation = self.cache.generation();
            let now_leading = *self.leader.borrow();
            let became_leader = now_leading && !leading;
            leading = now_leading;
            if seen_generation != Some(generation) || became_leader {
                seen_generation = Some(generation);
                let new = self.cache.snapshot();
                let old = if became_leader {
                    // A new leader does not know what its predecessor did: everything is new.
                    Arc::new(PolicySet::default())
                } else {
                    current.clone()
                };
                self.follow(&current, &old, &new, leading, became_leader)
                    .await;
                current = new;
            }
            tokio::time::sleep(TICK).await;
        }
    }

    /// Acts on a policy change from `old` to `new` (`previous` is what the watches were
    /// reconciled for).
    async fn follow(
        &self,
        previous: &PolicySet,
        old: &PolicySet,
        new: &PolicySet,
        leading: bool,
        became_leader: bool,
    ) {
        // Followers queue it too: it is done when one of them leads, if no leader did.
        for (key, policy, rule) in rules::removed_rules(previous, new) {
            let kinds = rules::rule(&policy, &rule)
                .map(rules::downstream_kinds)
                .unwrap_or_default();
            self.queue.push(Job::Removed {
                policy: key,
                rule,
                kinds,
            });
        }
        self.watch_downstream(new).await;
        if !leading {
            return;
        }
        for policy in rules::changed_policies(old, new) {
            let key = policy.name();
            for origin in self.downstream.origins_of(&key) {
                self.queue.push(Job::Resync(origin));
            }
            for rule in &policy.rules {
                let generate = rules::generates_existing(&policy, rule);
                let mutate =
                    !became_leader && rules::mutates_existing_on_policy_update(&policy, rule);
                if generate || mutate {
                    self.queue_existing(&policy, rule, mutate).await;
                }
            }
        }
    }

    /// Watches the kinds synchronized rules generate.
    async fn watch_downstream(&self, set: &PolicySet) {
        let mut wanted = BTreeSet::new();
        for p in set.policies() {
            for r in p.rules.iter().filter(|r| rules::synchronizes(r)) {
                for (api, kind) in rules::downstream_kinds(r) {
                    match self.resources.find(&api, &kind).await {
                        Some(k) => {
                            wanted.insert(k);
                        }
                        None => {
                            tracing::warn!(policy = %p.name(), rule = %r.name, kind = %kind, "generated kind not served; not synchronized")
                        }
                    }
                }
            }
        }
        self.downstream.reconcile(&wanted);
        self.watch_sources(set).await;
    }

    /// Watches the clone sources of synchronized rules.
    async fn watch_sources(&self, set: &PolicySet) {
        let mut wanted: BTreeMap<SourceWatch, Vec<sources::Source>> = BTreeMap::new();
        for s in sources::all_sources(set) {
            match self.resources.find(&s.api_version, &s.kind).await {
                Some(kind) => wanted.entry(SourceWatch::of(&s, kind)).or_default().push(s),
                None => {
                    tracing::warn!(policy = %s.policy, rule = %s.rule, kind = %s.kind, "clone source kind not served; its changes are not followed")
                }
            }
        }
        self.sources.reconcile(wanted);
    }

    /// Queues `rule` for every existing object its match names.
    async fn queue_existing(
        &self,
        policy: &CompiledPolicy,
        rule: &palisade_api::Rule,
        mutate: bool,
    ) {
        let Some(index) = self.resources.index().await else {
            return;
        };
        let wanted = Wanted {
            kinds: kinds::selectors(&rule.match_).collect(),
            ..Wanted::default()
        };
        let resolved = kinds::resolve(&wanted, &index);
        for kind in &resolved.kinds {
            let objects = match cluster::list(&self.client, kind, "", None).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(kind = %kind, error = %e, "cannot list existing triggers");
                    continue;
                }
            };
            tracing::info!(policy = %policy.name(), rule = %rule.name, kind = %kind, count = objects.len(), mutate, "queueing existing triggers");
            for o in objects {
                let trigger = TriggerRef::of(&o);
                if self.excluded.contains(&trigger.namespace) {
                    continue;
                }
                self.queue.push(Job::Existing {
                    policy: policy.name(),
                    rule: rule.name.clone(),
                    mutate,
                    trigger,
                });
            }
        }
    }

    async fn worker(self: Arc<Self>) {
        let mut leader = self.leader.clone();
        loop {
            if leader.wait_for(|l| *l).await.is_err() {
                return;
            }
            let batch = self.queue.pop(1).await;
            for job in &batch {
                let outcome = self.process(job).await;
                self.settle(job, outcome);
            }
            self.queue.done(&batch);
        }
    }

    fn settle(&self, job: &Job, outcome: Outcome) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Outcome::Done => {
                attempts.remove(job);
            }
            Outcome::Retry(after, why) => {
                // UpdateRequests count their attempts in their status.
                if !matches!(job, Job::Request(_)) {
                    let n = attempts.entry(job.clone()).or_insert(0);
                    *n += 1;
                    if *n > MAX_JOB_ATTEMPTS {
                        tracing::error!(job = ?job, error = %why, "giving up");
                        attempts.remove(job);
                        return;
                    }
                }
                tracing::debug!(job = ?job, reason = %why, after = ?after, "retrying later");
                let queue = self.queue.clone();
                let job = job.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    queue.push(job);
                });
            }
        }
    }

    async fn process(&self, job: &Job) -> Outcome {
        match job {
            Job::Request(name) => self.request(name).await,
            Job::Resync(origin) => self.resync(origin).await,
            Job::Existing {
                policy,
                rule,
                mutate,
                trigger,
            } => self.existing(policy, rule, *mutate, trigger).await,
            Job::Removed {
                policy,
                rule,
                kinds,
            } => self.removed(policy, rule, kinds).await,
            Job::SourceChanged { policy, rule } => {
                self.resync_rule(policy, rule);
                Outcome::Done
            }
            Job::SourceGone {
                policy,
                rule,
                source,
            } => self.source_gone(policy, rule, source).await,
        }
    }

    /// Generates every downstream resource of `rule` again (its clone source changed). The
    /// downstream watch knows them, and through their labels their triggers.
    fn resync_rule(&self, policy: &str, rule: &str) {
        for origin in self.downstream.origins_of(policy) {
            if origin.rule == rule {
                self.queue.push(Job::Resync(origin));
            }
        }
    }

    /// Deletes the copies of a deleted clone source, as Kyverno does for synchronized rules;
    /// a source that is back (or was only relabelled out of a watch) is copied again instead.
    async fn source_gone(&self, key: &str, rule: &str, source: &SourceRef) -> Outcome {
        let set = self.cache.snapshot();
        let Some(r) = rules::find_policy(&set, key).and_then(|p| {
            rules::rule(&p, rule)
                .filter(|r| rules::synchronizes(r))
                .cloned()
        }) else {
            return Outcome::Done;
        };
        let live = cluster::get(
            &self.client,
            &self.resources,
            &source.api_version,
            &source.kind,
            &source.namespace,
            &source.name,
        )
        .await;
        match live {
            Ok(Some(_)) => {
                self.resync_rule(key, rule);
                return Outcome::Done;
            }
            Ok(None) => {}
            Err(e) => return Outcome::Retry(Duration::from_secs(5), e),
        }
        tracing::info!(policy = %key, rule = %rule, kind = %source.kind, namespace = %source.namespace, name = %source.name, "clone source deleted: deleting its synchronized copies");
        let selector = sources::copies_selector(key, rule, source);
        let copy_of = |labels: &BTreeMap<String, String>| sources::is_copy_of(labels, source);
        match self
            .delete_selected(key, rule, &rules::downstream_kinds(&r), &selector, copy_of)
            .await
        {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Retry(Duration::from_secs(5), e),
        }
    }

    /// Deletes the downstream of a removed synchronized rule, unless it is back.
    async fn removed(&self, key: &str, rule: &str, kinds: &BTreeSet<(String, String)>) -> Outcome {
        let set = self.cache.snapshot();
        let back = rules::find_policy(&set, key)
            .is_some_and(|p| rules::rule(&p, rule).is_some_and(|r| r.generate.is_some()));
        if back {
            return Outcome::Done;
        }
        tracing::info!(policy = %key, rule = %rule, "rule removed: deleting its synchronized downstream resources");
        match self.delete_downstream(key, rule, kinds, None).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Retry(Duration::from_secs(5), e),
        }
    }

    /// Does one UpdateRequest; deletes it when done, records failures in its status.
    async fn request(&self, name: &str) -> Outcome {
        let Some(obj) = self
            .requests
            .get(&ObjectRef::new_with(name, updaterequest::api_resource()).within(&self.namespace))
        else {
            return Outcome::Done;
        };
        let spec: UpdateRequestSpec = match serde_json::from_value(obj.data["spec"].clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(request = %name, error = %e, "malformed UpdateRequest; deleting it");
                return self.finish_request(name).await;
            }
        };
        let age = obj
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| {
                let secs = now_seconds().saturating_sub(t.0.as_second()).max(0);
                Duration::from_secs(u64::try_from(secs).unwrap_or_default())
            })
            .unwrap_or_default();
        let attempts = obj.data["status"]["attempts"].as_u64().unwrap_or(0) as u32;
        if obj.data["status"]["state"] == "Failed" && attempts >= MAX_ATTEMPTS {
            return Outcome::Done;
        }
        match self.do_request(&spec, age).await {
            Ok(true) => self.finish_request(name).await,
            Ok(false) => Outcome::Retry(TRIGGER_POLL, "waiting for the trigger".into()),
            Err(e) => {
                let attempts = attempts + 1;
                let failed = attempts >= MAX_ATTEMPTS;
                tracing::warn!(request = %name, policy = %spec.policy, attempts, error = %e, "UpdateRequest failed");
                let state = if failed { "Failed" } else { "Pending" };
                self.set_status(name, state, &e, attempts).await;
                if failed {
                    Outcome::Done
                } else {
                    Outcome::Retry(backoff(attempts), e)
                }
            }
        }
    }

    /// `Ok(true)` when done, `Ok(false)` while waiting for the trigger.
    async fn do_request(&self, spec: &UpdateRequestSpec, age: Duration) -> Result<bool, String> {
        let set = self.cache.snapshot();
        let Some(policy) = rules::find_policy(&set, &spec.policy) else {
            tracing::info!(policy = %spec.policy, "the policy of an UpdateRequest is gone; dropping it");
            return Ok(true);
        };
        let t = &spec.trigger;
        if spec.delete_downstream {
            for name in &spec.rules {
                let kinds = rules::rule(&policy, name)
                    .map(rules::downstream_kinds)
                    .unwrap_or_default();
                self.delete_downstream(&spec.policy, name, &kinds, Some(&t.uid))
                    .await?;
            }
            return Ok(true);
        }
        let trigger = cluster::get(
            &self.client,
            &self.resources,
            &t.api_version,
            &t.kind,
            &t.namespace,
            &t.name,
        )
        .await?;
        // An UPDATE is recorded before it is stored: until the stored version is newer than
        // the one it replaces, the rules would see the old object.
        let stored = |o: &Value| {
            (t.uid.is_empty() || o["metadata"]["uid"] == t.uid.as_str())
                && !(spec.operation == "UPDATE"
                    && !t.resource_version.is_empty()
                    && o["metadata"]["resourceVersion"] == t.resource_version.as_str())
        };
        let Some(trigger) = trigger.filter(stored) else {
            if age < TRIGGER_GRACE {
                return Ok(false);
            }
            tracing::info!(trigger = %t.name, kind = %t.kind, "the trigger (or the update) of an UpdateRequest was never stored, or the object was replaced; dropping it");
            return Ok(true);
        };
        let user = RequestInfo {
            user_info: palisade_api::cli::UserInfo {
                username: spec.user_info.username.clone(),
                uid: spec.user_info.uid.clone(),
                groups: spec.user_info.groups.clone(),
                extra: spec.user_info.extra.clone(),
            },
            roles: spec.roles.clone(),
            cluster_roles: spec.cluster_roles.clone(),
        };
        let operation = if spec.operation.is_empty() {
            "CREATE"
        } else {
            &spec.operation
        };
        match spec.request_type {
            RequestType::Generate => {
                self.generate(set.clone(), policy, trigger, &spec.rules, user, operation)
                    .await?
            }
            RequestType::Mutate => {
                self.mutate(set.clone(), policy, trigger, &spec.rules, user, operation)
                    .await?
            }
        }
        Ok(true)
    }

    async fn finish_request(&self, name: &str) -> Outcome {
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &updaterequest::api_resource(),
        );
        match api.delete(name, &Default::default()).await {
            Ok(_) => Outcome::Done,
            Err(kube::Error::Api(e)) if e.code == 404 => Outcome::Done,
            Err(e) => Outcome::Retry(
                Duration::from_secs(5),
                format!("cannot delete the UpdateRequest: {e}"),
            ),
        }
    }

    async fn set_status(&self, name: &str, state: &str, message: &str, attempts: u32) {
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &updaterequest::api_resource(),
        );
        let patch = json!({"status": {"state": state, "message": message, "attempts": attempts}});
        if let Err(e) = api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(request = %name, error = %e, "cannot write the UpdateRequest's status");
        }
    }

    /// A synchronized resource changed or went: generate its rule for its trigger again, or
    /// remove the rule's downstream when the trigger is gone.
    async fn resync(&self, origin: &Origin) -> Outcome {
        let set = self.cache.snapshot();
        let Some(policy) = rules::find_policy(&set, &origin.policy) else {
            return Outcome::Done;
        };
        let Some(rule) = rules::rule(&policy, &origin.rule).filter(|r| rules::synchronizes(r))
        else {
            return Outcome::Done;
        };
        let kinds = rules::downstream_kinds(rule);
        let api_version = origin.trigger_api_version();
        let Some(kind) = self
            .resources
            .find(&api_version, &origin.trigger_kind)
            .await
        else {
            return Outcome::Retry(
                Duration::from_secs(10),
                format!("{api_version} {} is not served", origin.trigger_kind),
            );
        };
        let listed = cluster::list(&self.client, &kind, &origin.trigger_namespace, None).await;
        let trigger = match listed {
            Ok(items) => items
                .into_iter()
                .find(|o| o["metadata"]["uid"] == origin.trigger_uid.as_str()),
            Err(e) => return Outcome::Retry(Duration::from_secs(5), e),
        };
        let result = match trigger {
            None => {
                tracing::info!(policy = %origin.policy, rule = %origin.rule, trigger_uid = %origin.trigger_uid, "trigger gone: deleting its synchronized downstream");
                self.delete_downstream(
                    &origin.policy,
                    &origin.rule,
                    &kinds,
                    Some(&origin.trigger_uid),
                )
                .await
            }
            Some(trigger) => {
                let rules = [origin.rule.clone()];
                let generated = self
                    .generate(
                        set.clone(),
                        policy.clone(),
                        trigger,
                        &rules,
                        RequestInfo::default(),
                        "CREATE",
                    )
                    .await;
                match generated {
                    // The copy went with its deleted source: nothing to restore.
                    Err(_) if self.clone_source_missing(&origin.policy, rule).await => Ok(()),
                    other => other,
                }
            }
        };
        match result {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Retry(Duration::from_secs(5), e),
        }
    }

    /// True when a `clone` source `rule` names (without variables) does not exist.
    async fn clone_source_missing(&self, key: &str, rule: &palisade_api::Rule) -> bool {
        for s in sources::sources(key, rule) {
            let (Some(namespace), Some(name)) = (&s.namespace, &s.name) else {
                continue;
            };
            let found = cluster::get(
                &self.client,
                &self.resources,
                &s.api_version,
                &s.kind,
                namespace,
                name,
            )
            .await;
            if matches!(found, Ok(None)) {
                return true;
            }
        }
        false
    }

    /// generateExisting / mutateExistingOnPolicyUpdate for one trigger.
    async fn existing(&self, key: &str, rule: &str, mutate: bool, t: &TriggerRef) -> Outcome {
        let set = self.cache.snapshot();
        let Some(policy) = rules::find_policy(&set, key) else {
            return Outcome::Done;
        };
        let trigger = match cluster::get(
            &self.client,
            &self.resources,
            &t.api_version,
            &t.kind,
            &t.namespace,
            &t.name,
        )
        .await
        {
            Ok(Some(o)) => o,
            Ok(None) => return Outcome::Done,
            Err(e) => return Outcome::Retry(Duration::from_secs(5), e),
        };
        let rules = [rule.to_string()];
        let user = RequestInfo::default();
        let result = if mutate {
            self.mutate(set.clone(), policy, trigger, &rules, user, "CREATE")
                .await
        } else {
            self.generate(set.clone(), policy, trigger, &rules, user, "CREATE")
                .await
        };
        match result {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Retry(Duration::from_secs(5), e),
        }
    }

    fn request_for(&self, trigger: Value, user: RequestInfo, operation: &str) -> Request {
        let namespace = trigger["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let namespace_labels = if namespace.is_empty() || trigger["kind"] == "Namespace" {
            None
        } else {
            self.env.cluster.namespace_labels(namespace)
        };
        Request {
            operation: operation.to_string(),
            object: trigger,
            old_object: Value::Null,
            user,
            subresource: String::new(),
            kind: None,
            namespace_labels,
            admission: Map::new(),
        }
    }

    fn source(&self) -> LiveSource {
        LiveSource {
            handle: Handle::current(),
            client: self.client.clone(),
            resources: self.resources.clone(),
        }
    }

    /// Evaluates `rules` of `policy` for `trigger` and creates or updates what they generate.
    async fn generate(
        &self,
        set: Arc<PolicySet>,
        policy: Arc<CompiledPolicy>,
        trigger: Value,
        rules: &[String],
        user: RequestInfo,
        operation: &str,
    ) -> Result<(), String> {
        let request = self.request_for(trigger, user, operation);
        let response = self
            .evaluate(
                set,
                policy,
                request,
                "generation",
                |engine, p, r, ctx, inputs| engine.generate(p, r, ctx, inputs),
            )
            .await?;
        let mut errors = rule_errors(rules, &response.response.rules);
        for g in response.resources.iter().filter(|g| wanted(rules, &g.rule)) {
            if g.action == Action::Unchanged {
                continue;
            }
            let (_, kind, namespace, name) = cluster::identity(&g.resource);
            tracing::info!(rule = %g.rule, kind = %kind, namespace = %namespace, name = %name, action = ?g.action, "generating");
            if let Err(e) = cluster::apply(&self.client, &self.resources, &g.resource).await {
                errors.push(e);
            }
        }
        joined(errors)
    }

    /// Evaluates the mutate-existing `rules` of `policy` for `trigger` and writes the targets
    /// they change.
    async fn mutate(
        &self,
        set: Arc<PolicySet>,
        policy: Arc<CompiledPolicy>,
        trigger: Value,
        rules: &[String],
        user: RequestInfo,
        operation: &str,
    ) -> Result<(), String> {
        let request = self.request_for(trigger, user, operation);
        let response = self
            .evaluate(
                set,
                policy,
                request,
                "mutation",
                |engine, p, r, ctx, inputs| engine.mutate(p, r, ctx, inputs),
            )
            .await?;
        let mut errors = rule_errors(rules, &response.response.rules);
        for t in response.targets.iter().filter(|t| wanted(rules, &t.rule)) {
            let (_, kind, namespace, name) = cluster::identity(&t.patched);
            tracing::info!(rule = %t.rule, kind = %kind, namespace = %namespace, name = %name, "mutating existing target");
            if let Err(e) = cluster::replace(&self.client, &self.resources, &t.patched).await {
                errors.push(e);
            }
        }
        joined(errors)
    }

    /// Runs one engine evaluation of `policy` for `request` on a blocking thread (it may read
    /// the cluster through [`LiveSource`], which blocks on this runtime).
    async fn evaluate<R, F>(
        &self,
        set: Arc<PolicySet>,
        policy: Arc<CompiledPolicy>,
        request: Request,
        what: &str,
        run: F,
    ) -> Result<R, String>
    where
        R: Send + 'static,
        F: FnOnce(&Engine, &CompiledPolicy, &Request, &mut EvalContext, &Inputs) -> R
            + Send
            + 'static,
    {
        let source = self.source();
        let env = self.env.clone();
        tokio::task::spawn_blocking(move || {
            let mut ctx = request.context();
            let inputs = Inputs {
                source: &source,
                exceptions: set.exceptions(),
            };
            run(&env.engine, &policy, &request, &mut ctx, &inputs)
        })
        .await
        .map_err(|e| format!("{what} panicked: {e}"))
    }

    /// Deletes the downstream resources of `rule` of `policy` (of one trigger, or all).
    async fn delete_downstream(
        &self,
        policy: &str,
        rule: &str,
        kinds: &BTreeSet<(String, String)>,
        trigger_uid: Option<&str>,
    ) -> Result<(), String> {
        let selector = rules::selector(policy, rule, trigger_uid);
        self.delete_selected(policy, rule, kinds, &selector, |_| true)
            .await
    }

    /// Deletes the resources of `kinds` that `selector` selects, are of `policy` and pass
    /// `also` (a check of their labels).
    async fn delete_selected(
        &self,
        policy: &str,
        rule: &str,
        kinds: &BTreeSet<(String, String)>,
        selector: &str,
        also: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> Result<(), String> {
        let mut errors = Vec::new();
        for (api_version, kind) in kinds {
            let Some(k) = self.resources.find(api_version, kind).await else {
                continue;
            };
            let items = match cluster::list(&self.client, &k, "", Some(selector)).await {
                Ok(i) => i,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for o in items {
                let labels: BTreeMap<String, String> =
                    serde_json::from_value(o["metadata"]["labels"].clone()).unwrap_or_default();
                if !rules::same_policy_namespace(policy, &labels) || !also(&labels) {
                    continue;
                }
                let (_, _, namespace, name) = cluster::identity(&o);
                tracing::info!(policy = %policy, rule = %rule, kind = %k, namespace = %namespace, name = %name, "deleting downstream resource");
                if let Err(e) = cluster::delete(&self.client, &k, namespace, name).await {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Whether `rule` is one of the `rules` a job asked for.
fn wanted(rules: &[String], rule: &str) -> bool {
    rules.iter().any(|n| n == rule)
}

/// The error results among the asked-for `rules`, as `rule NAME: message`.
fn rule_errors(rules: &[String], results: &[palisade_engine::RuleResponse]) -> Vec<String> {
    results
        .iter()
        .filter(|r| wanted(rules, &r.name) && r.status == palisade_engine::RuleStatus::Error)
        .map(|r| format!("rule {}: {}", r.name, r.message))
        .collect()
}

/// `Ok` when nothing failed, else every error in one message.
fn joined(errors: Vec<String>) -> Result<(), String> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Seconds since the epoch.
fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// 2 s, 4 s, ... at most a minute.
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.min(6)).min(60))
}

/// Watches the UpdateRequests of `namespace`: each is queued when first seen (and again after
/// a re-list); status writes of its own do not queue it again (its retries are timed).
fn watch_requests(
    client: Client,
    namespace: &str,
    queue: Arc<WorkQueue<Job>>,
) -> Store<DynamicObject> {
    let ar = updaterequest::api_resource();
    let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
    let store = writer.as_reader();
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &ar);
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut seen = HashSet::new();
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::InitApply(o)) => {
                    seen.insert(o.name_any());
                    queue.push(Job::Request(o.name_any()));
                }
                Ok(watcher::Event::Apply(o)) => {
                    if seen.insert(o.name_any()) {
                        queue.push(Job::Request(o.name_any()));
                    }
                }
                Ok(watcher::Event::Delete(o)) => {
                    seen.remove(&o.name_any());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "UpdateRequest watch failed (is deploy/crds/palisade.dev_updaterequests.yaml applied?); retrying")
                }
            }
        }
    });
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_minute() {
        let got: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(got, [2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
