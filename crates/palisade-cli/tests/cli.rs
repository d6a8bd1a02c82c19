//! The `palisade` binary end to end on small fixtures: every output format is snapshotted and
//! every exit code (0 nothing failed, 1 failures, 2 bad input) is checked.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs `palisade` in the fixtures directory without colour and with a fixed report time.
fn palisade(args: &[&str]) -> Output {
    palisade_with_stdin(args, None)
}

fn palisade_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(fixtures())
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run palisade");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait for palisade")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

const POLICIES: &str = "policies";
const PODS: &str = "resources/pods.yaml";

#[test]
fn apply_summary_lists_failures_and_exits_1() {
    let o = palisade(&["apply", POLICIES, "-r", PODS]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    insta::assert_snapshot!("apply_summary", stdout(&o));
}

#[test]
fn apply_table() {
    let o = palisade(&["apply", POLICIES, "-r", PODS, "--table"]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("apply_table", stdout(&o));
}

#[test]
fn apply_detailed_table_with_audit_warn() {
    let o = palisade(&[
        "apply",
        POLICIES,
        "-r",
        PODS,
        "-t",
        "--detailed-results",
        "--audit-warn",
    ]);
    assert_eq!(code(&o), 1, "require-team enforces, so it still fails");
    insta::assert_snapshot!("apply_table_detailed_audit_warn", stdout(&o));
}

#[test]
fn apply_exits_0_when_only_warnings_remain() {
    let o = palisade(&[
        "apply",
        "policies/pinned-images.yaml",
        "policies/advisory.yaml",
        "-r",
        PODS,
        "--audit-warn",
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("pass: 2, fail: 0, warn: 2, error: 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn apply_policy_report_yaml() {
    let o = palisade(&["apply", POLICIES, "-r", PODS, "-p"]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("apply_report_yaml", stdout(&o));
}

#[test]
fn apply_policy_report_json() {
    let o = palisade(&[
        "apply",
        "policies/require-team.yaml",
        "-r",
        PODS,
        "-p",
        "--output-format",
        "json",
    ]);
    assert_eq!(code(&o), 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["kind"], "ClusterPolicyReport");
    assert_eq!(report["summary"]["fail"], 1);
    insta::assert_snapshot!("apply_report_json", stdout(&o));
}

#[test]
fn apply_policy_report_is_the_same_streamed_or_loaded_whole() {
    // The first stream is read piece by piece (a JSON piece, a YAML piece, a List); the second
    // has an alias, so it is loaded whole. Same resources, same report.
    let docs = [
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "json-pod"}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}}"#,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: yaml-pod\n  labels: {team: x}\nspec:\n  containers:\n  - name: a\n    image: nginx\n",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: listed, namespace: ns}\n  spec: {containers: [{name: a, image: nginx}]}\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    let streamed = dir.path().join("streamed.yaml");
    let whole = dir.path().join("whole.yaml");
    std::fs::write(&streamed, format!("---\n{}", docs.join("\n---\n"))).unwrap();
    std::fs::write(
        &whole,
        format!(
            "---\n{}\n---\nunused: &a 1\nalias: *a\n",
            docs.join("\n---\n")
        ),
    )
    .unwrap();
    let report = |path: &std::path::Path| {
        let o = palisade(&[
            "apply",
            "policies/require-team.yaml",
            "-r",
            path.to_str().unwrap(),
            "-p",
            "--output-format",
            "json",
        ]);
        (code(&o), stdout(&o))
    };
    let (code_streamed, out_streamed) = report(&streamed);
    assert_eq!(code_streamed, 1);
    assert_eq!(report(&whole), (code_streamed, out_streamed.clone()));
    let value: serde_json::Value = serde_json::from_str(&out_streamed).unwrap();
    let names: Vec<&str> = value["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resources"][0]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["json-pod", "yaml-pod", "listed"]);
}

#[test]
fn apply_reads_resources_from_stdin() {
    let text = std::fs::read_to_string(fixtures().join(PODS)).unwrap();
    let piped = palisade_with_stdin(&["apply", POLICIES, "-r", "-", "-t"], Some(&text));
    let from_file = palisade(&["apply", POLICIES, "-r", PODS, "-t"]);
    assert_eq!(code(&piped), 1);
    assert_eq!(stdout(&piped), stdout(&from_file));
}

#[test]
fn apply_reads_policies_from_stdin() {
    let text = std::fs::read_to_string(fixtures().join("policies/require-team.yaml")).unwrap();
    let o = palisade_with_stdin(&["apply", "-", "-r", PODS], Some(&text));
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("policy require-team -> resource default/Pod/sloppy failed:"));
}

#[test]
fn apply_bad_input_exits_2() {
    for (args, needle) in [
        (
            vec!["apply", "-", "-r", "-"],
            "either policies or resources, not both",
        ),
        (vec!["apply", POLICIES], "resource file(s) required"),
        (vec!["apply", "missing.yaml", "-r", PODS], "missing.yaml"),
        (
            vec!["apply", POLICIES, "-r", PODS, "--set", "novalue"],
            "key=value",
        ),
        (
            vec!["apply", POLICIES, "-r", PODS, "--output-format", "xml"],
            "xml",
        ),
    ] {
        let o = palisade(&args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn apply_unknown_field_names_file_line_and_path() {
    let o = palisade(&["apply", "bad/unknown-field.yaml", "-r", PODS]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(
        err.starts_with("error: bad/unknown-field.yaml:13: spec.rules[0].validate.mesage: unknown field `mesage`"),
        "{err}"
    );
}

/// Errors found after decoding (JMESPath, CEL) point at the field's line, not the document's.
#[test]
fn apply_compile_errors_name_the_fields_line() {
    for (file, start) in [
        (
            "bad/invalid-jmespath.yaml",
            "error: bad/invalid-jmespath.yaml:23: spec.rules[1].preconditions.all[0].key: policy bad-jp: invalid JMESPath",
        ),
        (
            "bad/invalid-cel.yaml",
            "error: bad/invalid-cel.yaml:15: spec.rules[0].validate.cel.expressions[0].expression: policy bad-cel: unexpected ')' (at 1:40 in",
        ),
    ] {
        let o = palisade(&["apply", file, "-r", PODS]);
        assert_eq!(code(&o), 2, "{file}");
        assert!(stderr(&o).starts_with(start), "{}", stderr(&o));
    }
}

#[test]
fn test_all_met_exits_0() {
    let o = palisade(&["test", "suite-pass"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    insta::assert_snapshot!("test_human_pass", stdout(&o));
}

#[test]
fn test_unmet_expectation_exits_1() {
    let o = palisade(&["test", "suite-pass", "suite-fail"]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("test_human_fail", stdout(&o));
}

#[test]
fn test_fail_only_detailed() {
    let o = palisade(&[
        "test",
        "suite-pass",
        "suite-fail",
        "--fail-only",
        "--detailed-results",
    ]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("test_fail_only_detailed", stdout(&o));
}

#[test]
fn test_detailed() {
    let o = palisade(&["test", "suite-fail", "--detailed-results"]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("test_human_detailed", stdout(&o));
}

#[test]
fn test_json_keeps_its_contract() {
    let o = palisade(&["test", "suite-pass", "suite-fail", "-o", "json"]);
    assert_eq!(code(&o), 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = doc["results"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    for key in [
        "test", "policy", "rule", "resource", "kind", "expected", "actual", "message",
    ] {
        assert!(rows.iter().all(|r| r.get(key).is_some()), "{key}");
    }
    assert_eq!(
        rows.iter().filter(|r| r["expected"] != r["actual"]).count(),
        1
    );
    insta::assert_snapshot!("test_json", stdout(&o));
}

#[test]
fn test_yaml() {
    let o = palisade(&["test", "suite-fail", "-o", "yaml"]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("test_yaml", stdout(&o));
}

#[test]
fn test_markdown() {
    let o = palisade(&["test", "suite-pass", "suite-fail", "-o", "markdown"]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("test_markdown", stdout(&o));
}

#[test]
fn test_junit_with_a_broken_suite() {
    let o = palisade(&["test", "suite-fail", "suite-broken", "-o", "junit"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).starts_with("error: suite-broken/kyverno-test.yaml: "),
        "{}",
        stderr(&o)
    );
    let xml = stdout(&o);
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert_eq!(
        xml.matches("<testsuite ").count(),
        xml.matches("</testsuite>").count()
    );
    insta::assert_snapshot!("test_junit", xml);
}

#[test]
fn test_case_selector_checks_only_matching_rows() {
    let o = palisade(&[
        "test",
        "suite-pass",
        "suite-fail",
        "-o",
        "json",
        "-t",
        "policy=pinned-*, resource=s*",
    ]);
    assert_eq!(code(&o), 0, "the unmet require-team row is not selected");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows: Vec<(&str, &str)> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["policy"].as_str().unwrap(),
                r["resource"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, vec![("pinned-images", "sloppy")]);
}

#[test]
fn test_bad_selector_exits_2() {
    let o = palisade(&["test", "suite-pass", "-t", "kind=Pod"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("use policy, rule or resource"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn test_without_test_files() {
    let o = palisade(&["test", "resources"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("No test yamls available"));
    let o = palisade(&["test", "resources", "--require-tests"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("no tests found"), "{}", stderr(&o));
}

#[test]
fn piped_output_has_no_colour_even_without_no_color() {
    let o = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["test", "suite-pass", "suite-fail"])
        .current_dir(fixtures())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    assert!(!stdout(&o).contains('\u{1b}'));
    assert!(stdout(&o).contains("Test Summary: 5 tests passed and 1 tests failed"));
}

/// The closing counts line of `apply`'s summary.
fn counts_line(o: &Output) -> String {
    stdout(o)
        .lines()
        .rfind(|l| l.starts_with("pass: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn apply_inputs_change_results() {
    let name = "variables/allowed-name.yaml";
    let admins = "variables/admins-only.yaml";
    for (args, want_code, want_counts) in [
        (
            vec!["apply", name, "-r", PODS, "--set", "allowed=tidy"],
            1,
            "pass: 1, fail: 1",
        ),
        (
            vec!["apply", name, "-r", PODS, "-f", "variables/values.yaml"],
            1,
            "pass: 1, fail: 1",
        ),
        (
            vec!["apply", "policies/require-team.yaml", "-r", PODS],
            1,
            "pass: 1, fail: 1",
        ),
        (
            vec![
                "apply",
                "policies/require-team.yaml",
                "-r",
                PODS,
                "-e",
                "variables/exception.yaml",
            ],
            0,
            "pass: 1, fail: 0, warn: 0, error: 0, skip: 5",
        ),
        (vec!["apply", admins, "-r", PODS], 1, "pass: 0, fail: 2"),
        (
            vec!["apply", admins, "-r", PODS, "-u", "variables/userinfo.yaml"],
            0,
            "pass: 2, fail: 0",
        ),
    ] {
        let o = palisade(&args);
        assert_eq!(code(&o), want_code, "{args:?}: {}", stdout(&o));
        assert!(
            counts_line(&o).starts_with(want_counts),
            "{args:?}: {}",
            counts_line(&o)
        );
    }
    // The values file allows the other pod than --set does.
    let o = palisade(&["apply", name, "-r", PODS, "-f", "variables/values.yaml"]);
    assert!(
        stdout(&o).contains("resource shop/Pod/tidy failed:"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn apply_summary_of_validating_policies() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let vpols = root.join("policies/pod-security-vpol/baseline/disallow-privileged-containers");
    let pods = root.join("examples");
    let o = palisade(&[
        "apply",
        vpols.to_str().unwrap(),
        "-r",
        pods.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    // One ValidatingPolicy counts as one rule; its unnamed result is listed without ": ".
    assert!(
        out.contains("Applying 1 policy rule(s) to 2 resource(s)"),
        "{out}"
    );
    assert!(
        out.contains("disallow-privileged-containers -> resource tenant-a/Pod/node-shell failed:\n1. Privileged mode is not allowed"),
        "{out}"
    );
}
