//! JUnit XML, as CI systems read it: one `<testsuite>` per test file, one `<testcase>` per
//! checked expectation, a `<failure>` for each expectation not met and an `<error>` for a test
//! file that could not be run. Written by hand: the format is small and only needs escaping.

use std::fmt::Write;

/// One test file.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    /// The test file's path.
    pub name: String,
    /// Its checked expectations.
    pub cases: Vec<Case>,
    /// Why the file could not be run, if it could not.
    pub error: Option<String>,
}

/// One checked expectation.
#[derive(Debug, Clone, Default)]
pub struct Case {
    /// Grouping shown by CI tools (the policy).
    pub classname: String,
    /// The case's name (rule and resource).
    pub name: String,
    /// `(short message, details)` when the expectation is not met.
    pub failure: Option<(String, String)>,
    /// Text for `<system-out>` (the engine's message, with `--detailed-results`).
    pub output: Option<String>,
}

/// Renders suites as a JUnit XML document.
pub fn render(root: &str, suites: &[Suite]) -> String {
    let tests: usize = suites.iter().map(|s| s.cases.len().max(errors(s))).sum();
    let failures: usize = suites.iter().map(failures).sum();
    let errs: usize = suites.iter().map(errors).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errs}\">",
        escape(root)
    );
    for suite in suites {
        render_suite(&mut out, suite);
    }
    out.push_str("</testsuites>\n");
    out
}

fn failures(s: &Suite) -> usize {
    s.cases.iter().filter(|c| c.failure.is_some()).count()
}

fn errors(s: &Suite) -> usize {
    usize::from(s.error.is_some())
}

fn render_suite(out: &mut String, suite: &Suite) {
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        escape(&suite.name),
        suite.cases.len().max(errors(suite)),
        failures(suite),
        errors(suite)
    );
    if let Some(e) = &suite.error {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{0}\" name=\"{0}\">\n      <error message=\"{1}\">{1}</error>\n    </testcase>",
            escape(&suite.name),
            escape(e)
        );
    }
    for case in &suite.cases {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(&case.classname),
            escape(&case.name)
        );
        if case.failure.is_none() && case.output.is_none() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if let Some((message, details)) = &case.failure {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\">{}</failure>",
                escape(message),
                escape(details)
            );
        }
        if let Some(text) = &case.output {
            let _ = writeln!(out, "      <system-out>{}</system-out>", escape(text));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push_str(&format!("&#{};", u32::from(c))),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

fn allowed(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        for (input, want) in [
            ("a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;"),
            ("line\nnext", "line&#10;next"),
            ("bell\u{7}", "bell\u{FFFD}"),
            ("plain", "plain"),
        ] {
            assert_eq!(escape(input), want);
        }
    }

    #[test]
    fn counts_failures_and_errors() {
        let suites = vec![
            Suite {
                name: "a.yaml".into(),
                cases: vec![
                    Case {
                        classname: "p".into(),
                        name: "ok".into(),
                        ..Case::default()
                    },
                    Case {
                        classname: "p".into(),
                        name: "bad".into(),
                        failure: Some(("Want pass, got fail".into(), "msg".into())),
                        output: None,
                    },
                ],
                error: None,
            },
            Suite {
                name: "b.yaml".into(),
                cases: vec![],
                error: Some("cannot read".into()),
            },
        ];
        let xml = render("palisade test", &suites);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"1\">"),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"Want pass, got fail\">msg</failure>"));
        assert!(xml.contains("<error message=\"cannot read\">cannot read</error>"));
        assert!(xml.contains("<testcase classname=\"p\" name=\"ok\"/>"));
    }
}
