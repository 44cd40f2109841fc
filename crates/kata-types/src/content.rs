use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::SandboxPath;

/// A kata's files as the browser sends them: path → text.
pub type Files = BTreeMap<SandboxPath, String>;

/// `a` and `a/b` cannot both be files: which would the sandbox hold?
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file:?} is a file, but {under:?} needs it to be a directory")]
pub struct PathClash {
    /// The path given as a file.
    pub file: String,
    /// The path under it.
    pub under: String,
}

/// Checks that no file of `files` is also a directory of another.
pub fn check_no_clashes(files: &Files) -> Result<(), PathClash> {
    for path in files.keys() {
        if let Some(dir) = path.ancestors().find(|a| files.contains_key(a)) {
            return Err(PathClash {
                file: dir.to_string(),
                under: path.to_string(),
            });
        }
    }
    Ok(())
}

/// How much of a file, stdout or stderr is returned: 50 KiB, as cyber-dojo.
pub const TEXT_FILE_CAP: usize = 51_200;

/// Text returned to a client, cut to a cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    /// The text, invalid UTF-8 replaced by U+FFFD.
    pub content: String,
    /// Whether `content` was cut short.
    pub truncated: bool,
}

impl FileContent {
    /// Cuts `bytes` to `cap` bytes and decodes them, replacing invalid UTF-8.
    ///
    /// `truncated` says whether the original was longer than `cap`; a
    /// multi-byte character split by the cut becomes U+FFFD.
    pub fn from_bytes(bytes: &[u8], cap: usize) -> Self {
        let truncated = bytes.len() > cap;
        let kept = &bytes[..bytes.len().min(cap)];
        Self {
            content: String::from_utf8_lossy(kept).into_owned(),
            truncated,
        }
    }
}

/// Whether a file's leading bytes look like text.
///
/// A file under 2 bytes is text (cyber-dojo's rule); otherwise text means no
/// NUL byte in the first 8,000 bytes (git's rule). Invalid UTF-8 alone does
/// not make a file binary: it is replaced when returned.
pub fn is_text(head: &[u8]) -> bool {
    head.len() < 2 || !head[..head.len().min(8000)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_reports_truncation() {
        let c = FileContent::from_bytes(&[b'x'; 51_201], TEXT_FILE_CAP);
        assert_eq!(c.content.len(), 51_200);
        assert!(c.truncated);
        let c = FileContent::from_bytes(b"hi", TEXT_FILE_CAP);
        assert_eq!((c.content.as_str(), c.truncated), ("hi", false));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let c = FileContent::from_bytes(b"a\xffb", 10);
        assert_eq!(c.content, "a\u{fffd}b");
    }

    #[test]
    fn a_file_cannot_also_be_a_directory() {
        let p = |s: &str| SandboxPath::new(s).unwrap();
        let ok: Files = [(p("a/b"), String::new()), (p("a/c"), String::new())].into();
        assert_eq!(check_no_clashes(&ok), Ok(()));
        let bad: Files = [(p("a"), String::new()), (p("a/b/c"), String::new())].into();
        let err = check_no_clashes(&bad).unwrap_err();
        assert_eq!((err.file.as_str(), err.under.as_str()), ("a", "a/b/c"));
    }

    #[test]
    fn text_rules() {
        assert!(is_text(b""));
        assert!(is_text(b"\0"));
        assert!(!is_text(b"\0\0"));
        assert!(is_text(b"int main() {}\n"));
        assert!(!is_text(b"\x7fELF\x02\x01\x01\0"));
    }
}
