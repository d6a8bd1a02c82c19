//! The part of a Pod the checks read, decoded from JSON the way Kyverno's Go decoding does.
//!
//! Kyverno unmarshals the resource into typed `corev1` structs with `encoding/json` before
//! running the checks, so: an absent or `null` field is its zero value, an object key matches a
//! field exactly or else case-insensitively, unknown keys are ignored, and a field of the wrong
//! JSON type is an error. Strings borrow from the input, so decoding allocates only the vectors.

mod decode;

pub use decode::decode_pod;

/// A decoded Pod: the metadata and spec the checks look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pod<'a> {
    pub(crate) meta: Meta<'a>,
    pub(crate) spec: Spec<'a>,
}

/// `metadata`: only the annotations matter to the checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Meta<'a> {
    /// Annotation keys and values in key order.
    pub(crate) annotations: Vec<(&'a str, &'a str)>,
}

/// The pod spec fields the checks read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Spec<'a> {
    pub(crate) host_network: bool,
    pub(crate) host_pid: bool,
    pub(crate) host_ipc: bool,
    pub(crate) host_users: Option<bool>,
    /// `spec.os.name`, when `spec.os` is set.
    pub(crate) os_name: Option<&'a str>,
    pub(crate) security_context: Option<PodSecurityContext<'a>>,
    pub(crate) init_containers: Vec<Container<'a>>,
    pub(crate) containers: Vec<Container<'a>>,
    pub(crate) ephemeral_containers: Vec<Container<'a>>,
    pub(crate) volumes: Vec<Volume<'a>>,
}

impl Spec<'_> {
    /// Upstream's windows exemption: `spec.os.name` is exactly `windows`.
    pub(crate) fn is_windows(&self) -> bool {
        self.os_name == Some("windows")
    }

    /// Upstream `relaxPolicyForUserNamespacePod` in its 1.35 form: `hostUsers` is set to false.
    pub(crate) fn in_user_namespace(&self) -> bool {
        self.host_users == Some(false)
    }
}

/// `spec.securityContext`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PodSecurityContext<'a> {
    pub(crate) run_as_user: Option<i64>,
    pub(crate) run_as_non_root: Option<bool>,
    pub(crate) se_linux: Option<SeLinuxOptions<'a>>,
    /// `seccompProfile.type`: `Some("")` when the profile is set without a type.
    pub(crate) seccomp_type: Option<&'a str>,
    /// `appArmorProfile.type`: `Some("")` when the profile is set without a type.
    pub(crate) app_armor_type: Option<&'a str>,
    /// `sysctls[*].name`.
    pub(crate) sysctls: Vec<&'a str>,
    /// `windowsOptions.hostProcess`.
    pub(crate) host_process: Option<bool>,
}

/// `seLinuxOptions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SeLinuxOptions<'a> {
    pub(crate) user: &'a str,
    pub(crate) role: &'a str,
    pub(crate) type_: &'a str,
}

/// A container, init container or ephemeral container.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Container<'a> {
    pub(crate) name: &'a str,
    pub(crate) image: &'a str,
    /// `ports[*].hostPort`.
    pub(crate) host_ports: Vec<i32>,
    pub(crate) security_context: Option<SecurityContext<'a>>,
    /// Liveness, readiness and startup probes, in that order.
    pub(crate) probes: [Option<Handler<'a>>; 3],
    /// `lifecycle.postStart` and `lifecycle.preStop`, in that order.
    pub(crate) lifecycle: [Option<Handler<'a>>; 2],
}

impl<'a> Container<'a> {
    /// A container with only a name (Kyverno's "fake" container for pod-level exclusions).
    pub(crate) fn named(name: &'a str) -> Self {
        Container {
            name,
            ..Container::default()
        }
    }
}

/// A container `securityContext`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SecurityContext<'a> {
    pub(crate) privileged: Option<bool>,
    pub(crate) allow_privilege_escalation: Option<bool>,
    pub(crate) capabilities: Option<Capabilities<'a>>,
    pub(crate) run_as_user: Option<i64>,
    pub(crate) run_as_non_root: Option<bool>,
    pub(crate) se_linux: Option<SeLinuxOptions<'a>>,
    pub(crate) seccomp_type: Option<&'a str>,
    pub(crate) app_armor_type: Option<&'a str>,
    pub(crate) proc_mount: Option<&'a str>,
    pub(crate) host_process: Option<bool>,
}

/// `capabilities`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Capabilities<'a> {
    pub(crate) add: Vec<&'a str>,
    pub(crate) drop: Vec<&'a str>,
}

/// A probe or lifecycle handler: the hosts of its `httpGet` and `tcpSocket` actions, each
/// `Some` when the action is set (the host may then be empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Handler<'a> {
    pub(crate) http_get_host: Option<&'a str>,
    pub(crate) tcp_socket_host: Option<&'a str>,
}

/// A pod volume: its name and which sources are set.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Volume<'a> {
    pub(crate) name: &'a str,
    /// Bit set over [`VOLUME_SOURCES`].
    pub(crate) sources: u32,
    /// `hostPath.path`, when `hostPath` is set.
    pub(crate) host_path: Option<&'a str>,
}

impl Volume<'_> {
    /// Whether the source named `source` (a [`VOLUME_SOURCES`] entry) is set.
    pub(crate) fn has(&self, source: &str) -> bool {
        VOLUME_SOURCES
            .iter()
            .position(|s| *s == source)
            .is_some_and(|bit| self.sources & (1 << bit) != 0)
    }
}

/// Every `corev1.VolumeSource` field, in the Go struct's order.
pub(crate) const VOLUME_SOURCES: [&str; 30] = [
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];
