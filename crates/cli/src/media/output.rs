//! Printing results: JSON documents for scripts, aligned text for people.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::CliError;

/// What `--json` selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Text for people.
    Human,
    /// One pretty-printed JSON document.
    Json,
}

/// Writes `value` as one JSON document (and a newline) to stdout.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    quiet_on_closed_pipe(written)
}

/// Writes text to stdout.
pub(crate) fn print_text(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    quiet_on_closed_pipe(written)
}

/// A reader that stopped reading (`promptkit media ls DIR | head`) is not
/// an error; anything else is.
fn quiet_on_closed_pipe(r: std::io::Result<()>) -> Result<(), CliError> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

/// A path or object key as printed (text and JSON): as is when it is UTF-8;
/// otherwise each byte that is not part of valid UTF-8 is written `\xNN`
/// (and, in such a name, `\` is doubled so the escapes read back). Never
/// fails: whatever name a file has, it can be reported.
pub(crate) fn shown_path(path: &Path) -> String {
    let os = path.as_os_str();
    if let Some(s) = os.to_str() {
        return s.to_owned();
    }
    let mut out = String::new();
    for chunk in os.as_encoded_bytes().utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// [`shown_path`] of each path.
pub(crate) fn shown_paths(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| shown_path(p)).collect()
}

/// A byte count for people: `512 B`, `1.5 KiB`, `3.2 MiB`, ...
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Precision loss above 2^53 bytes is irrelevant for one decimal.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `part` as a percentage of `whole`, rounded to two decimals; 0 when
/// `whole` is 0.
pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 10_000.0 / whole as f64).round() / 100.0
}

/// RFC 3339 in UTC, with sub-second precision (for JSON).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (for tables).
pub(crate) fn short_time(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| t.to_string())
}

/// Left-aligned columns separated by two spaces, one line per row, the
/// first row being the header.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[c].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(1, 3), 33.33);
        assert_eq!(percent(2, 2), 100.0);
    }

    #[test]
    fn tables_align() {
        let t = table(&[
            vec!["A".into(), "BB".into(), "C".into()],
            vec!["long".into(), "x".into(), "y".into()],
        ]);
        assert_eq!(t, "A     BB  C\nlong  x   y\n");
    }

    #[test]
    fn paths_that_are_not_utf8_are_escaped() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(
            shown_path(Path::new("media/a b\\c.png")),
            "media/a b\\c.png"
        );
        let odd = Path::new(OsStr::from_bytes(b"media/caf\xe9\\\xff.bin"));
        assert_eq!(shown_path(odd), "media/caf\\xE9\\\\\\xFF.bin");
        assert_eq!(
            shown_paths(&[odd.to_path_buf()]),
            ["media/caf\\xE9\\\\\\xFF.bin"]
        );
    }

    #[test]
    fn times() {
        let t = OffsetDateTime::from_unix_timestamp(86_400).unwrap();
        assert_eq!(short_time(t), "1970-01-02 00:00:00Z");
        assert_eq!(rfc3339(t), "1970-01-02T00:00:00Z");
    }
}
