//! Markdown tables (GitHub-flavoured), e.g. for a CI job summary.

/// Renders a table; `|` and newlines inside cells are escaped so every row stays one line.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", headers.join(" | "));
    out.push_str(&format!("|{}\n", "----|".repeat(headers.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

fn cell(text: &str) -> String {
    text.trim()
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rows_and_escapes_cells() {
        let out = table(
            &["ID", "MESSAGE"],
            &[
                vec!["1".into(), "a|b\nc".into()],
                vec!["2".into(), "ok".into()],
            ],
        );
        assert_eq!(
            out,
            "| ID | MESSAGE |\n|----|----|\n| 1 | a\\|b<br>c |\n| 2 | ok |\n"
        );
    }
}
