//! Box-drawn tables in the layout of Kyverno's CLI: a header row, one line per row, long
//! messages wrapped by words at 100 columns.

use super::style::{Paint, Style};

/// Width at which a wrapped column breaks its text.
const WRAP_AT: usize = 100;

/// One cell: its text and what colour it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The text (may hold newlines).
    pub text: String,
    /// Its colour.
    pub paint: Paint,
}

impl Cell {
    /// A cell with a colour.
    pub fn new(text: impl Into<String>, paint: Paint) -> Cell {
        Cell {
            text: text.into(),
            paint,
        }
    }

    /// A cell without colour.
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell::new(text, Paint::Plain)
    }
}

/// A table under construction.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
    /// Index of the column whose text is wrapped (the message).
    wrap: Option<usize>,
}

impl Table {
    /// A table with these column headers; the first column is right-aligned (the ID).
    pub fn new(headers: Vec<&'static str>) -> Table {
        Table {
            headers,
            rows: Vec::new(),
            wrap: None,
        }
    }

    /// Wraps the text of column `index` at 100 columns.
    pub fn wrap_column(mut self, index: usize) -> Table {
        self.wrap = Some(index);
        self
    }

    /// Adds a row; missing cells are empty and extra cells are dropped.
    pub fn push(&mut self, mut row: Vec<Cell>) {
        row.resize(self.headers.len(), Cell::plain(""));
        self.rows.push(row);
    }

    /// The table as text, one `\n`-terminated line per printed line.
    pub fn render(&self, style: &Style) -> String {
        let lines: Vec<Vec<Vec<String>>> = self
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(i, c)| self.cell_lines(i, &c.text))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|col| {
                lines
                    .iter()
                    .flat_map(|row| row.get(col).into_iter().flatten())
                    .map(|l| width(l))
                    .chain([width(self.headers.get(col).copied().unwrap_or_default())])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = border(&widths, '┌', '┬', '┐');
        let header: Vec<Vec<String>> = self.headers.iter().map(|h| vec![h.to_string()]).collect();
        let header_paint = vec![Paint::Header; self.headers.len()];
        out.push_str(&self.render_row(&header, &header_paint, &widths, style, false));
        out.push_str(&border(&widths, '├', '┼', '┤'));
        for (row, cells) in lines.iter().zip(&self.rows) {
            let paints: Vec<Paint> = cells.iter().map(|c| c.paint).collect();
            out.push_str(&self.render_row(row, &paints, &widths, style, true));
        }
        out.push_str(&border(&widths, '└', '┴', '┘'));
        out
    }

    fn cell_lines(&self, col: usize, text: &str) -> Vec<String> {
        let lines = text.lines().map(str::to_string);
        if self.wrap == Some(col) {
            lines.flat_map(|l| wrap(&l, WRAP_AT)).collect()
        } else {
            let v: Vec<String> = lines.collect();
            if v.is_empty() { vec![String::new()] } else { v }
        }
    }

    fn render_row(
        &self,
        cells: &[Vec<String>],
        paints: &[Paint],
        widths: &[usize],
        style: &Style,
        align_id: bool,
    ) -> String {
        let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut out = String::new();
        for line in 0..height {
            out.push('│');
            for (col, w) in widths.iter().enumerate() {
                let text = cells
                    .get(col)
                    .and_then(|c| c.get(line))
                    .map(String::as_str)
                    .unwrap_or("");
                let pad = " ".repeat(w.saturating_sub(width(text)));
                let painted = style.paint(paints.get(col).copied().unwrap_or(Paint::Plain), text);
                if align_id && col == 0 {
                    out.push_str(&format!(" {pad}{painted} │"));
                } else {
                    out.push_str(&format!(" {painted}{pad} │"));
                }
            }
            out.push('\n');
        }
        out
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn border(widths: &[usize], left: char, mid: char, right: char) -> String {
    let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
    format!("{left}{}{right}\n", parts.join(&mid.to_string()))
}

/// Breaks `text` into lines of at most `limit` characters at spaces; a longer word gets a
/// line of its own.
fn wrap(text: &str, limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        if !current.is_empty() && width(&current) + 1 + width(word) > limit {
            lines.push(std::mem::take(&mut current));
        } else if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_kyverno_layout() {
        let mut t = Table::new(vec!["ID", "POLICY", "RESULT"]);
        t.push(vec![
            Cell::plain("1"),
            Cell::new("p", Paint::Name),
            Cell::new("Pass", Paint::Pass),
        ]);
        t.push(vec![Cell::plain("10"), Cell::plain("policy-two")]);
        let want = "\
┌────┬────────────┬────────┐
│ ID │ POLICY     │ RESULT │
├────┼────────────┼────────┤
│  1 │ p          │ Pass   │
│ 10 │ policy-two │        │
└────┴────────────┴────────┘
";
        assert_eq!(t.render(&Style::plain()), want);
    }

    #[test]
    fn empty_table_has_header_only() {
        let t = Table::new(vec!["ID", "RULE"]);
        assert_eq!(
            t.render(&Style::plain()),
            "┌────┬──────┐\n│ ID │ RULE │\n├────┼──────┤\n└────┴──────┘\n"
        );
    }

    #[test]
    fn wraps_long_text_by_words() {
        for (text, limit, want) in [
            ("a b c", 3, vec!["a b", "c"]),
            ("abcdef gh", 3, vec!["abcdef", "gh"]),
            ("", 3, vec![""]),
            ("one two", 100, vec!["one two"]),
        ] {
            assert_eq!(wrap(text, limit), want, "{text:?}");
        }
    }

    #[test]
    fn multi_line_cells_pad_the_other_columns() {
        let mut t = Table::new(vec!["ID", "MESSAGE"]).wrap_column(1);
        t.push(vec![Cell::plain("1"), Cell::plain("first\nsecond")]);
        let out = t.render(&Style::plain());
        assert!(
            out.contains("│  1 │ first   │\n│    │ second  │\n"),
            "{out}"
        );
    }
}
