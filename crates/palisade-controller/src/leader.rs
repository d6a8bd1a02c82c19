//! Leader election through a `coordination.k8s.io/v1` Lease, so several replicas can run and
//! only one writes reports.
//!
//! Each replica tries every `duration / 4`: the holder renews; another replica takes the Lease
//! once it has seen the same Lease record unchanged for a whole `duration` (time measured on
//! its own clock, like client-go, so clock skew between nodes does not matter). Every write is
//! conditional on the resourceVersion read, so two replicas never both win.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use tokio::sync::watch;

/// Where the Lease is and who this replica is.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity (holderIdentity).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub duration: Duration,
}

/// What one attempt decided, from what was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No Lease yet: create it.
    Create,
    /// Ours: renew it.
    Renew,
    /// Free or expired: take it.
    Take,
    /// Someone else holds it.
    Wait,
}

/// The record last seen and when it was first seen, to judge expiry on the local clock.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    record: Option<(String, Option<String>)>,
    since: Option<Instant>,
}

impl Observed {
    /// Decides the next step given the Lease read at `now` (`None`: it does not exist).
    pub fn step(
        &mut self,
        lease: Option<&Lease>,
        me: &str,
        duration: Duration,
        now: Instant,
    ) -> Step {
        let Some(lease) = lease else {
            self.record = None;
            return Step::Create;
        };
        let spec = lease.spec.as_ref();
        let holder = spec
            .and_then(|s| s.holder_identity.clone())
            .filter(|h| !h.is_empty());
        let renewed = spec
            .and_then(|s| s.renew_time.as_ref())
            .map(|t| t.0.to_string());
        if holder.as_deref() == Some(me) {
            return Step::Renew;
        }
        if holder.is_none() {
            return Step::Take;
        }
        let record = (holder.unwrap_or_default(), renewed);
        if self.record.as_ref() != Some(&record) {
            self.record = Some(record);
            self.since = Some(now);
            return Step::Wait;
        }
        match self.since {
            Some(since) if now.duration_since(since) >= duration => Step::Take,
            _ => Step::Wait,
        }
    }
}

/// Runs the election until the process ends, publishing leadership on `tx`.
pub async fn run(client: Client, cfg: LeaseConfig, tx: watch::Sender<bool>) {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    let retry = (cfg.duration / 4).max(Duration::from_millis(250));
    let mut observed = Observed::default();
    let mut last_renewal: Option<Instant> = None;
    loop {
        let leading = match attempt(&api, &cfg, &mut observed).await {
            Ok(true) => {
                last_renewal = Some(Instant::now());
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(lease = %cfg.name, error = %e, "leader election request failed");
                // Keep leading only while the last renewal is still valid.
                last_renewal.is_some_and(|t| t.elapsed() < cfg.duration)
            }
        };
        if !leading {
            last_renewal = None;
        }
        if *tx.borrow() != leading {
            tracing::info!(identity = %cfg.identity, leading, "leadership changed");
            tx.send_replace(leading);
        }
        tokio::time::sleep(retry).await;
    }
}

/// Gives the Lease up if this replica holds it, so a follower takes over at its next retry
/// instead of waiting for the Lease to expire (graceful shutdown).
pub async fn release(client: Client, cfg: &LeaseConfig) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    let Some(mut lease) = api.get_opt(&cfg.name).await? else {
        return Ok(());
    };
    let Some(spec) = lease.spec.as_mut() else {
        return Ok(());
    };
    if spec.holder_identity.as_deref() != Some(cfg.identity.as_str()) {
        return Ok(());
    }
    spec.holder_identity = None;
    api.replace(&cfg.name, &PostParams::default(), &lease)
        .await?;
    tracing::info!(lease = %cfg.name, "leadership released");
    Ok(())
}

/// One round: read the Lease and create, renew or take it. True when this replica leads.
async fn attempt(
    api: &Api<Lease>,
    cfg: &LeaseConfig,
    observed: &mut Observed,
) -> Result<bool, kube::Error> {
    let current = api.get_opt(&cfg.name).await?;
    let step = observed.step(
        current.as_ref(),
        &cfg.identity,
        cfg.duration,
        Instant::now(),
    );
    let now = MicroTime(Timestamp::now());
    let seconds = i32::try_from(cfg.duration.as_secs())
        .unwrap_or(i32::MAX)
        .max(1);
    let result = match (step, current) {
        (Step::Wait, _) => return Ok(false),
        (Step::Create, _) => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.name.clone()),
                    namespace: Some(cfg.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(cfg.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            api.create(&PostParams::default(), &lease).await
        }
        (step, Some(mut lease)) => {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if step == Step::Take {
                spec.holder_identity = Some(cfg.identity.clone());
                spec.acquire_time = Some(now.clone());
                spec.lease_transitions =
                    Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
            }
            spec.lease_duration_seconds = Some(seconds);
            spec.renew_time = Some(now);
            // The resourceVersion read makes this conditional: a concurrent writer gets 409.
            api.replace(&lease.name_any(), &PostParams::default(), &lease)
                .await
        }
        (_, None) => return Ok(false),
    };
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed_secs: i64) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                renew_time: Some(MicroTime(Timestamp::from_second(renewed_secs).unwrap())),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn steps() {
        let d = Duration::from_secs(10);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut o = Observed::default();
        assert_eq!(o.step(None, "me", d, t0), Step::Create);
        assert_eq!(
            o.step(Some(&lease(Some("me"), 1)), "me", d, t0),
            Step::Renew
        );
        assert_eq!(o.step(Some(&lease(None, 1)), "me", d, t0), Step::Take);
        // Another holder: wait until its record has stood still for a whole duration.
        assert_eq!(
            o.step(Some(&lease(Some("other"), 1)), "me", d, at(0)),
            Step::Wait
        );
        assert_eq!(
            o.step(Some(&lease(Some("other"), 1)), "me", d, at(9)),
            Step::Wait
        );
        // It renewed: the clock starts again.
        assert_eq!(
            o.step(Some(&lease(Some("other"), 5)), "me", d, at(9)),
            Step::Wait
        );
        assert_eq!(
            o.step(Some(&lease(Some("other"), 5)), "me", d, at(18)),
            Step::Wait
        );
        assert_eq!(
            o.step(Some(&lease(Some("other"), 5)), "me", d, at(19)),
            Step::Take
        );
    }
}
