//! Reading the journal's lines in bounded chunks: a replay, an owner read
//! or a compaction holds at most about two chunks of the file in memory,
//! however long the journal is.

use std::fs::File;
use std::path::Path;

use super::journal::{Record, parse_line};
use crate::{Error, Result};

/// How much of the journal is read at once.
const CHUNK: usize = 1 << 20;

/// Reads into `buf` at `offset` (on Unix and Windows without moving the
/// file's shared cursor).
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
    #[cfg(not(any(unix, windows)))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file.try_clone()?;
        f.seek(SeekFrom::Start(offset))?;
        f.read(buf)
    }
}

/// Fills `buf` from `offset`: `false` when the file ends first.
pub(crate) fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        match read_at(file, &mut buf[done..], offset + done as u64) {
            Ok(0) => return Ok(false),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Calls `f` with the offset and the text (without its `\n`) of every
/// complete line between `from` and `upto` in `file`, in order, reading
/// at most [`CHUNK`] bytes at a time; stops at the first error `f`
/// returns. Returns how far the file was read: `upto`, or its end when it
/// is shorter (an incomplete last line is read but not handed over).
pub(crate) fn for_each_line(
    file: &File,
    path: &Path,
    from: u64,
    upto: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<u64> {
    let mut pos = from;
    // Offset of the next line to hand over.
    let mut line_at = from;
    let size = usize::try_from(upto.saturating_sub(from)).map_or(CHUNK, |n| n.min(CHUNK));
    // The incomplete line carried over from the last read, then what the
    // next read brings: one chunk in all, unless a line is longer.
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    while pos < upto {
        let filled = buf.len();
        let room = if filled < size { size - filled } else { size };
        let want = usize::try_from(upto - pos).map_or(room, |n| n.min(room));
        buf.resize(filled + want, 0);
        let got = loop {
            match read_at(file, &mut buf[filled..], pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        };
        buf.truncate(filled + got);
        if got == 0 {
            break;
        }
        pos += got as u64;
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        for line in buf[..end].split(|&b| b == b'\n') {
            f(line_at, line)?;
            line_at += line.len() as u64 + 1;
        }
        buf.drain(..=end);
    }
    Ok(pos)
}

/// Calls `f` with the offset and record of every line of the first `upto`
/// bytes of the journal `file` (complete lines only, as a replay reads
/// them).
pub(crate) fn for_each_record(
    file: &File,
    path: &Path,
    upto: u64,
    mut f: impl FnMut(u64, Record) -> Result<()>,
) -> Result<()> {
    let mut n = 0u64;
    for_each_line(file, path, 0, upto, |at, line| {
        n += 1;
        f(at, parse_line(path, n, line)?)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn lines_of(file: &File, from: u64, upto: u64) -> (Vec<(u64, String)>, u64) {
        let mut got = Vec::new();
        let end = for_each_line(file, Path::new("j"), from, upto, |at, l| {
            got.push((at, String::from_utf8(l.to_vec()).unwrap()));
            Ok(())
        })
        .unwrap();
        (got, end)
    }

    #[test]
    fn hands_over_complete_lines_across_chunk_edges() {
        let mut f = tempfile::tempfile().unwrap();
        // Lines of many lengths, one longer than a chunk, and an incomplete
        // last line.
        let mut text = String::new();
        let mut want = Vec::new();
        for i in 0..3000 {
            let line = "x".repeat(i % 997) + &i.to_string();
            want.push((text.len() as u64, line.clone()));
            text.push_str(&line);
            text.push('\n');
        }
        let long = "y".repeat(CHUNK + 17);
        want.push((text.len() as u64, long.clone()));
        text.push_str(&long);
        text.push('\n');
        let complete = text.len() as u64;
        text.push_str("torn");
        f.write_all(text.as_bytes()).unwrap();

        let (got, end) = lines_of(&f, 0, u64::MAX);
        assert_eq!(got, want);
        assert_eq!(end, text.len() as u64, "read to the end of the file");

        // From the middle, up to the end of the complete lines.
        let (from, _) = want[1500].clone();
        let (got, end) = lines_of(&f, from, complete);
        assert_eq!(got, want[1500..]);
        assert_eq!(end, complete);
    }

    #[test]
    fn stops_at_the_first_error() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"a\nb\nc\n").unwrap();
        let mut seen = Vec::new();
        let r = for_each_line(&f, Path::new("j"), 0, u64::MAX, |_, l| {
            seen.push(l.to_vec());
            if l == b"b" {
                Err(Error::Config("stop".into()))
            } else {
                Ok(())
            }
        });
        assert!(matches!(r, Err(Error::Config(_))));
        assert_eq!(seen, [b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn read_full_at_reports_a_short_file() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"hello").unwrap();
        let mut buf = [0u8; 3];
        assert!(read_full_at(&f, &mut buf, 2).unwrap());
        assert_eq!(&buf, b"llo");
        assert!(!read_full_at(&f, &mut buf, 3).unwrap());
    }

    #[test]
    fn records_are_read_across_chunks_up_to_the_replayed_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut f = std::fs::File::create(&path).unwrap();
        let mut written = 0u64;
        let mut starts = Vec::new();
        let n = 2 * CHUNK / 200 + 7;
        for i in 0..n {
            let conv = "c".repeat(i % 97);
            let line = format!(
                "{{\"op\":\"add\",\"v\":2,\"id\":\"{i:032x}\",\"path\":\"media/{i:032x}.png\",\"blake3\":\"{}\",\"mime_type\":\"image/png\",\"size_bytes\":3,\"conversation_id\":\"x{conv}\",\"retention_policy\":\"retain\",\"created_at\":\"2026-01-01T00:00:00Z\"}}\n",
                "ab".repeat(32)
            );
            f.write_all(line.as_bytes()).unwrap();
            starts.push(written);
            written += line.len() as u64;
        }
        // A torn line past the replayed length is not read.
        f.write_all(b"{\"op\":\"remo").unwrap();
        drop(f);
        let file = std::fs::File::open(&path).unwrap();
        let mut seen = 0usize;
        let mut at = 0u64;
        let starts = &starts;
        for_each_record(&file, &path, written, |offset, rec| {
            assert_eq!(offset, at);
            let Record::Add { id, owner, .. } = rec else {
                panic!("not an add");
            };
            at = starts.get(seen + 1).copied().unwrap_or(written);
            assert_eq!(id, format!("{seen:032x}"));
            let owner = owner.owner().unwrap();
            assert_eq!(owner.conversation_id.unwrap().len(), 1 + seen % 97);
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, n);
        assert_eq!(at, written);
        assert!(written > 2 * CHUNK as u64);
    }
}
