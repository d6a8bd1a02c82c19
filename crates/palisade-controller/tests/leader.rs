//! Two controllers with leader election against a real control plane: only the leader scans
//! and writes reports, and killing it hands over to the other within 15 seconds.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::{Cluster, Controller, eventually, pods, report};

const NS: &str = "lease-a";

const POLICY: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: no-privileged
spec:
  background: true
  rules:
  - name: privileged
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Audit
      message: privileged containers are not allowed
      pattern:
        spec:
          containers:
          - =(securityContext):
              =(privileged): false
"#;

fn pod(name: &str) -> String {
    pods::pod(name, NS, true)
}

fn reported(cluster: &Cluster, pod: &str) -> Option<()> {
    let uid = cluster.uid(&["pod", pod, "-n", NS])?;
    let r = report(cluster, &uid, Some(NS))?;
    (r["summary"]["fail"] == 1).then_some(())
}

fn holder(cluster: &Cluster) -> Option<String> {
    let lease = cluster.get_json(&["lease", "palisade-controller", "-n", "palisade"])?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_string)
}

fn is_leader(c: &Controller) -> bool {
    c.metric("palisade_background_leader") == 1.0
}

#[test]
fn only_the_leader_writes_and_a_follower_takes_over() {
    let Some(cluster) = support::cluster("leader") else {
        return;
    };
    cluster.namespace("palisade");
    cluster.namespace(NS);
    cluster.apply(POLICY);
    let args = |id: &'static str| {
        [
            "--leader-election",
            "--namespace",
            "palisade",
            "--identity",
            id,
        ]
    };
    let mut replicas: Vec<(&str, Controller)> = ["replica-a", "replica-b"]
        .into_iter()
        .map(|id| (id, Controller::start(&cluster, id, &args(id))))
        .collect();
    for (_, c) in &replicas {
        c.wait_ready();
    }
    let leader_id = eventually("one leader", || {
        let leaders = replicas.iter().filter(|(_, c)| is_leader(c)).count();
        holder(&cluster).filter(|_| leaders == 1)
    });
    let l = replicas
        .iter()
        .position(|(id, _)| *id == leader_id)
        .unwrap();
    let f = 1 - l;
    assert!(is_leader(&replicas[l].1));
    let follower_id = replicas[f].0;

    cluster.apply(&pod("first"));
    eventually("the leader's report on the first Pod", || {
        reported(&cluster, "first")
    });
    let writes = "palisade_background_report_writes_total{operation=\"apply\"}";
    assert!(replicas[l].1.metric(writes) >= 1.0);
    assert_eq!(
        replicas[f].1.metric(writes),
        0.0,
        "the follower wrote a report"
    );
    assert_eq!(replicas[f].1.metric("palisade_background_scans_total"), 0.0);

    // Kill the leader: the follower takes the Lease and reports new Pods.
    replicas[l].1.kill();
    let killed = Instant::now();
    cluster.apply(&pod("second"));
    eventually("the follower to lead", || {
        (holder(&cluster).as_deref() == Some(follower_id) && is_leader(&replicas[f].1))
            .then_some(())
    });
    let failover = killed.elapsed();
    eprintln!("leader killed -> follower leads: {failover:?}");
    assert!(
        failover <= Duration::from_secs(15),
        "failover took {failover:?} (the issue asks for at most 15 s)"
    );
    eventually("the new leader's report on the second Pod", || {
        reported(&cluster, "second")
    });
    assert!(replicas[f].1.metric(writes) >= 1.0);
    // The first Pod's report was already right: the new leader's rescan leaves it alone.
    assert!(
        replicas[f]
            .1
            .metric("palisade_background_report_unchanged_total")
            >= 1.0
    );

    // A graceful stop releases the Lease: the restarted replica takes over at its next retry,
    // well before the Lease would have expired.
    let restarted_id = replicas[l].0;
    replicas[l].1 = Controller::start(&cluster, "restarted", &args(restarted_id));
    replicas[l].1.wait_ready();
    assert!(!is_leader(&replicas[l].1));
    let stopped = Instant::now();
    assert!(replicas[f].1.terminate(), "graceful shutdown exits 0");
    eventually("the restarted replica to lead", || {
        (holder(&cluster).as_deref() == Some(restarted_id) && is_leader(&replicas[l].1))
            .then_some(())
    });
    let handover = stopped.elapsed();
    eprintln!("leader stopped gracefully -> other leads: {handover:?}");
    assert!(
        handover < Duration::from_secs(8),
        "handover took {handover:?}, as long as waiting for the Lease to expire"
    );
    assert!(replicas[f].1.log_text().contains("leadership released"));
}
