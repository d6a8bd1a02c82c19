//! The `level` and `version` of a `validate.podSecurity` rule.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A Pod Security Standards profile, as written in `podSecurity.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// `privileged`. Kyverno's evaluator only narrows the checks for `baseline`, so this level
    /// runs every check, exactly like `restricted` (see [`Level::runs`]).
    Privileged,
    /// `baseline`: only the baseline checks run.
    Baseline,
    /// `restricted`: the baseline and the restricted checks run.
    Restricted,
}

impl Level {
    /// The spelling Kyverno's CRD accepts (all lowercase).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    /// Whether a check of level `check_level` runs when a rule asks for `self`.
    ///
    /// Kyverno (`pkg/pss/evaluate.go`) skips a check only when the rule asks for `baseline`
    /// and the check is not a baseline check; any other level runs every check.
    pub fn runs(self, check_level: Level) -> bool {
        self != Level::Baseline || check_level == Level::Baseline
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            other => Err(Error::InvalidLevel(other.to_string())),
        }
    }
}

/// A Pod Security Standards version, as written in `podSecurity.version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `latest` (also what an empty or absent version means in Kyverno).
    Latest,
    /// `v1.N`, holding the minor number `N`.
    V1(u32),
}

impl Version {
    /// Whether `self` is older than `v1.minor` (upstream `api.Version.Older`); `latest` is never older.
    pub fn older_than(self, minor: u32) -> bool {
        match self {
            Version::Latest => false,
            Version::V1(n) => n < minor,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::V1(n) => write!(f, "v1.{n}"),
        }
    }
}

impl FromStr for Version {
    type Err = Error;

    /// Parses like Kyverno's `pss.ParseVersion`: `""` and `"latest"` are latest, otherwise the
    /// text must match upstream's `^v1\.(0|[1-9][0-9]*)$`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s == "latest" {
            return Ok(Version::Latest);
        }
        let invalid = || Error::InvalidVersion(s.to_string());
        let minor = s.strip_prefix("v1.").ok_or_else(invalid)?;
        let well_formed = !minor.is_empty()
            && minor.bytes().all(|b| b.is_ascii_digit())
            && (minor == "0" || !minor.starts_with('0'));
        if !well_formed {
            return Err(invalid());
        }
        minor.parse().map(Version::V1).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_kyverno_spelling_only() {
        for (text, level) in [
            ("privileged", Level::Privileged),
            ("baseline", Level::Baseline),
            ("restricted", Level::Restricted),
        ] {
            assert_eq!(text.parse::<Level>().unwrap(), level);
            assert_eq!(level.to_string(), text);
        }
        for bad in ["Baseline", "RESTRICTED", "", "base"] {
            assert!(bad.parse::<Level>().is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_parse_like_upstream() {
        let table = [
            ("", Some(Version::Latest)),
            ("latest", Some(Version::Latest)),
            ("v1.0", Some(Version::V1(0))),
            ("v1.25", Some(Version::V1(25))),
            ("v1.100", Some(Version::V1(100))),
            ("v1.01", None),
            ("v1.", None),
            ("1.25", None),
            ("v2.1", None),
            ("v1.25.3", None),
            ("v1.-1", None),
            ("v1.99999999999", None),
            ("Latest", None),
        ];
        for (text, want) in table {
            assert_eq!(text.parse::<Version>().ok(), want, "{text:?}");
        }
        assert_eq!(Version::V1(29).to_string(), "v1.29");
    }

    #[test]
    fn older_than_and_level_selection() {
        assert!(Version::V1(24).older_than(25));
        assert!(!Version::V1(25).older_than(25));
        assert!(!Version::Latest.older_than(u32::MAX));
        assert!(Level::Baseline.runs(Level::Baseline));
        assert!(!Level::Baseline.runs(Level::Restricted));
        assert!(Level::Restricted.runs(Level::Restricted));
        assert!(Level::Privileged.runs(Level::Restricted));
    }

    #[test]
    fn invalid_version_message_is_upstreams() {
        let err = "v2".parse::<Version>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid podSecurity version "v2": must be "latest" or "v1.x""#
        );
    }
}
