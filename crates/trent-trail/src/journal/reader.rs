//! The node's journal read in order for the trail's delivery and the cluster's copy: the records after a sequence, remembering
//! where the last read stopped so that a delivery round reads only what is new.

use super::file::{first_sequence_of, trail_files, LIVE_FILE};
use super::EntryLine;
use crate::{Journal, JournalRecord};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the last read stopped: after sequence `after`, at `offset` in the file whose first
/// sequence is `file_first` (a rotation renames the live file; its offsets stay).
#[derive(Clone, Copy)]
struct Cursor {
    after: Option<u64>,
    file_first: u64,
    offset: u64,
}

pub struct JournalReader {
    dir: PathBuf,
    cursor: Mutex<Option<Cursor>>,
}

impl JournalReader {
    pub fn new(dir: &Path) -> Self {
        JournalReader { dir: dir.to_path_buf(), cursor: Mutex::new(None) }
    }

    /// The journal's files with their first sequences, oldest first (an empty live file has
    /// none and is left out).
    fn files(&self) -> Vec<(u64, PathBuf)> {
        trail_files(&self.dir)
            .into_iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_str()?;
                let first = match name == LIVE_FILE {
                    true => first_sequence_of(&p)?,
                    false => name.strip_prefix("audit-")?.strip_suffix(".log")?.parse().ok()?,
                };
                Some((first, p))
            })
            .collect()
    }
}

impl Journal for JournalReader {
    fn records_after(&self, after: Option<u64>, max: usize) -> std::io::Result<Vec<JournalRecord>> {
        let files = self.files();
        let start = after.map_or(0, |a| a + 1);
        let cursor = *self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        let (mut index, mut offset) = match cursor.filter(|c| c.after == after) {
            Some(c) => match files.iter().position(|(first, _)| *first == c.file_first) {
                Some(i) => (i, c.offset),
                None => (files.iter().rposition(|(f, _)| *f <= start).unwrap_or(0), 0),
            },
            None => (files.iter().rposition(|(f, _)| *f <= start).unwrap_or(0), 0),
        };
        let mut records = Vec::new();
        let mut stopped = None;
        'files: while let Some((first, path)) = files.get(index) {
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut reader = BufReader::new(file);
            let mut text = String::new();
            loop {
                if records.len() >= max {
                    stopped = Some((*first, offset));
                    break 'files;
                }
                text.clear();
                let n = reader.read_line(&mut text)?;
                // The end, or a line still being written: stop before it.
                if n == 0 || !text.ends_with('\n') {
                    stopped = Some((*first, offset));
                    if n == 0 && index + 1 < files.len() {
                        break;
                    }
                    break 'files;
                }
                offset += n as u64;
                let Some(line) = EntryLine::parse(text.trim_end()) else { continue };
                if line.sequence < start {
                    continue;
                }
                if let Some(record) = line.record() {
                    match JournalRecord::of(line.sequence, &record) {
                        Some(r) => records.push(r),
                        None => tracing::warn!(sequence = line.sequence, "an audit record without eventTime, recipientAccountId or awsRegion is not delivered"),
                    }
                }
            }
            index += 1;
            offset = 0;
        }
        let after_out = records.last().map(|r| r.sequence).or(after);
        if let Some((file_first, offset)) = stopped {
            *self.cursor.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Cursor { after: after_out, file_first, offset });
        }
        Ok(records)
    }
}
