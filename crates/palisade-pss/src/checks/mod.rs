//! The registry of Pod Security Standards checks: one file per control, each a unit struct
//! implementing [`Check`] with its versioned variants, as upstream's `policy/check_*.go`.

mod helpers;

mod allow_privilege_escalation;
mod app_armor;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes;
mod privileged;
mod proc_mount;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux;
mod seccomp_baseline;
mod seccomp_restricted;
mod sysctls;
mod windows_host_process;

pub(crate) use helpers::Violation;

use crate::level::{Level, Version};
use crate::model::Pod;

/// A check version's implementation.
pub(crate) type CheckFn = fn(&Pod<'_>) -> Option<Violation>;

/// One revision of a check, applying from a minimum policy version on.
#[derive(Clone, Copy)]
pub struct VersionedCheck {
    minimum: u32,
    run: CheckFn,
}

impl VersionedCheck {
    pub(crate) const fn new(minimum: u32, run: CheckFn) -> Self {
        VersionedCheck { minimum, run }
    }

    /// The first policy version (`v1.N`) this revision applies to.
    pub fn minimum_version(&self) -> Version {
        Version::V1(self.minimum)
    }

    pub(crate) fn run(&self, pod: &Pod<'_>) -> Option<Violation> {
        (self.run)(pod)
    }
}

impl std::fmt::Debug for VersionedCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionedCheck")
            .field("minimum_version", &self.minimum_version())
            .finish_non_exhaustive()
    }
}

/// A Pod Security Standards check (upstream `policy.Check`).
pub trait Check: Sync {
    /// Upstream check ID, e.g. `capabilities_restricted`.
    fn id(&self) -> &'static str;
    /// The control name Kyverno uses for it (`exclude[].controlName`), e.g. `Capabilities`.
    fn control(&self) -> &'static str;
    /// [`Level::Baseline`] or [`Level::Restricted`].
    fn level(&self) -> Level;
    /// Revisions in increasing minimum version.
    fn versions(&self) -> &'static [VersionedCheck];
    /// What the check forbids, from the Pod Security Standards page.
    fn doc(&self) -> &'static str;

    /// The revision Kyverno evaluates for `version`: the newest one whose minimum is not newer
    /// than `version`, or the first one when all are newer (Kyverno still runs checks
    /// introduced after a pinned version).
    fn select(&self, version: Version) -> Option<&'static VersionedCheck> {
        let versions = self.versions();
        let first = versions.first()?;
        Some(
            versions
                .iter()
                .skip(1)
                .rev()
                .find(|v| !version.older_than(v.minimum))
                .unwrap_or(first),
        )
    }
}

static CHECKS: [&dyn Check; 19] = [
    &allow_privilege_escalation::AllowPrivilegeEscalation,
    &app_armor::AppArmorProfile,
    &capabilities_baseline::CapabilitiesBaseline,
    &capabilities_restricted::CapabilitiesRestricted,
    &host_namespaces::HostNamespaces,
    &host_path_volumes::HostPathVolumes,
    &host_ports::HostPorts,
    &host_probes::HostProbesAndHostLifecycle,
    &privileged::Privileged,
    &proc_mount::ProcMount,
    &proc_mount::ProcMountRestricted,
    &restricted_volumes::RestrictedVolumes,
    &run_as_non_root::RunAsNonRoot,
    &run_as_user::RunAsUser,
    &se_linux::SeLinuxOptions,
    &seccomp_baseline::SeccompProfileBaseline,
    &seccomp_restricted::SeccompProfileRestricted,
    &sysctls::Sysctls,
    &windows_host_process::WindowsHostProcess,
];

/// Every check, in upstream's `DefaultChecks()` order (its `check_*.go` file order), which is
/// the order Kyverno reports failures in.
pub fn checks() -> &'static [&'static dyn Check] {
    &CHECKS
}

/// The check with upstream ID `id`.
pub fn check(id: &str) -> Option<&'static dyn Check> {
    CHECKS.iter().copied().find(|c| c.id() == id)
}

#[cfg(test)]
pub(crate) mod test_support {
    use serde_json::Value;

    use super::Violation;
    use crate::model::{Pod, decode_pod};

    /// Runs `f` on a pod decoded from `metadata` and `spec` JSON.
    pub(crate) fn run(
        f: fn(&Pod<'_>) -> Option<Violation>,
        metadata: Value,
        spec: Value,
    ) -> Option<Violation> {
        let pod = decode_pod(&metadata, &spec, "metadata", "spec").unwrap();
        f(&pod)
    }

    /// Renders a violation as `(reason, detail, [errors])` for table assertions.
    pub(crate) fn render(v: &Option<Violation>) -> Option<(String, String, Vec<String>)> {
        v.as_ref().map(|v| {
            (
                v.reason.to_string(),
                v.detail.clone(),
                v.errors.iter().map(ToString::to_string).collect(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_complete_and_ordered() {
        let ids: Vec<&str> = checks().iter().map(|c| c.id()).collect();
        assert_eq!(
            ids,
            [
                "allowPrivilegeEscalation",
                "appArmorProfile",
                "capabilities_baseline",
                "capabilities_restricted",
                "hostNamespaces",
                "hostPathVolumes",
                "hostPorts",
                "hostProbesAndHostLifecycle",
                "privileged",
                "procMount",
                "procMount_restricted",
                "restrictedVolumes",
                "runAsNonRoot",
                "runAsUser",
                "seLinuxOptions",
                "seccompProfile_baseline",
                "seccompProfile_restricted",
                "sysctls",
                "windowsHostProcess",
            ]
        );
        for c in checks() {
            assert!(!c.versions().is_empty(), "{}", c.id());
            assert!(!c.doc().is_empty() && !c.control().is_empty());
            let mins: Vec<Version> = c.versions().iter().map(|v| v.minimum_version()).collect();
            assert!(
                mins.windows(2)
                    .all(|w| matches!(w, [Version::V1(a), Version::V1(b)] if a < b)),
                "{}",
                c.id()
            );
        }
        assert_eq!(check("sysctls").map(|c| c.control()), Some("Sysctls"));
        assert!(check("nope").is_none());
    }

    #[test]
    fn selection_follows_kyverno() {
        let sysctls = check("sysctls").unwrap();
        let pick = |v| sysctls.select(v).unwrap().minimum_version();
        assert_eq!(pick(Version::Latest), Version::V1(32));
        assert_eq!(pick(Version::V1(28)), Version::V1(27));
        assert_eq!(pick(Version::V1(0)), Version::V1(0));
        // A check newer than the pinned version still runs its first revision.
        let probes = check("hostProbesAndHostLifecycle").unwrap();
        assert_eq!(
            probes.select(Version::V1(29)).unwrap().minimum_version(),
            Version::V1(34)
        );
    }
}
