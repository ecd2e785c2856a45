//! Result tables: printed to stdout and written as Markdown.

use std::fmt::Write as _;

/// One table of the report, with notes below it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    pub(crate) notes: Vec<String>,
}

impl Section {
    pub(crate) fn new(title: &str, header: &[&str]) -> Self {
        Section {
            title: title.to_owned(),
            header: header.iter().map(|s| (*s).to_owned()).collect(),
            ..Section::default()
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The section as Markdown (a `###` heading, a table, notes as a list).
    pub(crate) fn markdown(&self) -> String {
        let mut s = format!("### {}\n\n", self.title);
        if !self.header.is_empty() {
            let _ = writeln!(s, "| {} |", self.header.join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(self.header.len()));
            for r in &self.rows {
                let _ = writeln!(s, "| {} |", r.join(" | "));
            }
            s.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(s, "- {n}");
        }
        if !self.notes.is_empty() {
            s.push('\n');
        }
        s
    }
}

/// A target check: `met` or `MISSED` with the values compared.
pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**MISSED**" }
}
