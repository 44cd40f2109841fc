use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest file or directory name accepted, in bytes (Linux `NAME_MAX`).
pub const MAX_NAME_BYTES: usize = 255;
/// The longest path accepted, in bytes: Linux's `PATH_MAX` (4096) counts the
/// terminating NUL, so a 4096-byte path could be named but never created.
pub const MAX_PATH_BYTES: usize = 4095;
/// The most components a path may have. No kata nests deeper, and checks
/// that walk a path's ancestors stay cheap for hostile tars.
pub const MAX_DEPTH: usize = 128;

/// A path inside a kata's sandbox: relative, `/`-separated, normalised.
///
/// Every component is non-empty, is not `.` or `..`, holds no NUL, no
/// backslash and no control character, and is at most [`MAX_NAME_BYTES`] long;
/// the whole is at most [`MAX_PATH_BYTES`]. Joining one to a directory can
/// therefore only name something inside that directory (links aside, which
/// the guest refuses to create or follow).
///
/// Ordering is byte-wise, which is also the order files are listed in.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SandboxPath(String);

/// Why a name is not a [`SandboxPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum PathError {
    /// The empty string names no file.
    #[error("empty path")]
    Empty,
    /// `/etc/passwd` and the like.
    #[error("absolute path")]
    Absolute,
    /// A `..` component.
    #[error("path has a '..' component")]
    ParentDir,
    /// A `.` component, an empty component (`a//b`) or a trailing `/`.
    #[error("path is not normalised ('.', '//' or a trailing '/')")]
    NotNormalised,
    /// A NUL byte: it would cut the name short in any C API.
    #[error("path contains NUL")]
    Nul,
    /// A backslash: a separator on Windows, a trap everywhere.
    #[error("path contains a backslash")]
    Backslash,
    /// A newline or other control character.
    #[error("path contains a control character")]
    Control,
    /// A component over [`MAX_NAME_BYTES`].
    #[error("a name is longer than {MAX_NAME_BYTES} bytes")]
    NameTooLong,
    /// The whole over [`MAX_PATH_BYTES`].
    #[error("path is longer than {MAX_PATH_BYTES} bytes")]
    PathTooLong,
    /// More than [`MAX_DEPTH`] components.
    #[error("path is deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Bytes that are not UTF-8 (only possible for names read from a tar).
    #[error("path is not UTF-8")]
    NotUtf8,
}

impl SandboxPath {
    /// Validates a path.
    pub fn new(path: &str) -> Result<Self, PathError> {
        validate(path)?;
        Ok(Self(path.to_owned()))
    }

    /// Validates raw bytes, as found in a tar header.
    ///
    /// A single trailing `/` (how tar names directories) and a leading `./`
    /// (how `tar -C dir .` names everything) are accepted and dropped.
    pub fn from_tar_bytes(bytes: &[u8]) -> Result<Self, PathError> {
        let s = std::str::from_utf8(bytes).map_err(|_| PathError::NotUtf8)?;
        let s = s.strip_prefix("./").unwrap_or(s);
        let s = s.strip_suffix('/').unwrap_or(s);
        Self::new(s)
    }

    /// The path as a `str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's components, outermost first.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The directories that contain this path, outermost first
    /// (`a/b/c.txt` → `a`, `a/b`).
    pub fn ancestors(&self) -> impl Iterator<Item = SandboxPath> + '_ {
        self.0
            .match_indices('/')
            .map(|(i, _)| SandboxPath(self.0[..i].to_owned()))
    }

    /// `self/name`, validated.
    pub fn join(&self, name: &str) -> Result<Self, PathError> {
        Self::new(&format!("{}/{}", self.0, name))
    }
}

fn validate(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute);
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(PathError::PathTooLong);
    }
    if path.split('/').count() > MAX_DEPTH {
        return Err(PathError::TooDeep);
    }
    for component in path.split('/') {
        match component {
            ".." => return Err(PathError::ParentDir),
            "" | "." => return Err(PathError::NotNormalised),
            _ => {}
        }
        if component.len() > MAX_NAME_BYTES {
            return Err(PathError::NameTooLong);
        }
    }
    for c in path.chars() {
        match c {
            '\0' => return Err(PathError::Nul),
            '\\' => return Err(PathError::Backslash),
            c if c.is_control() => return Err(PathError::Control),
            _ => {}
        }
    }
    Ok(())
}

impl TryFrom<String> for SandboxPath {
    type Error = PathError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        validate(&s)?;
        Ok(Self(s))
    }
}

impl From<SandboxPath> for String {
    fn from(p: SandboxPath) -> String {
        p.0
    }
}

impl std::str::FromStr for SandboxPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for SandboxPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SandboxPath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SandboxPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SandboxPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_and_odd_but_harmless_names() {
        for ok in [
            "cyber-dojo.sh",
            "s1/s2/x.txt",
            ".hidden",
            "-leading-dash",
            "ampers&and.txt",
            "stdout",
            "d1/d2/d3/f",
            "..dots..",
            "ünïcödé.txt",
        ] {
            assert_eq!(SandboxPath::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_each_escape_with_its_reason() {
        let long_name = "n".repeat(256);
        let long_path = ["dd"; 1366].join("/");
        let deep_path = ["d"; 129].join("/");
        let cases: &[(&str, PathError)] = &[
            ("", PathError::Empty),
            ("/etc/passwd", PathError::Absolute),
            ("../../escape", PathError::ParentDir),
            ("a/../../b", PathError::ParentDir),
            ("..", PathError::ParentDir),
            ("./a", PathError::NotNormalised),
            ("a//b", PathError::NotNormalised),
            ("a/", PathError::NotNormalised),
            ("a\0b", PathError::Nul),
            ("a\\..\\b", PathError::Backslash),
            ("new\nline", PathError::Control),
            (&long_name, PathError::NameTooLong),
            (&long_path, PathError::PathTooLong),
            (&deep_path, PathError::TooDeep),
        ];
        for (path, why) in cases {
            assert_eq!(SandboxPath::new(path).unwrap_err(), *why, "{path:?}");
        }
    }

    #[test]
    fn tar_names_drop_dot_slash_and_trailing_slash() {
        assert_eq!(
            SandboxPath::from_tar_bytes(b"./a/b/").unwrap().as_str(),
            "a/b"
        );
        assert_eq!(
            SandboxPath::from_tar_bytes(b"a\xffb").unwrap_err(),
            PathError::NotUtf8
        );
        assert_eq!(
            SandboxPath::from_tar_bytes(b"./../x").unwrap_err(),
            PathError::ParentDir
        );
    }

    #[test]
    fn ancestors_are_outermost_first() {
        let p = SandboxPath::new("a/b/c.txt").unwrap();
        let got: Vec<_> = p.ancestors().map(String::from).collect();
        assert_eq!(got, ["a", "a/b"]);
    }

    #[test]
    fn deserialising_validates() {
        let err = serde_json::from_str::<SandboxPath>("\"../x\"").unwrap_err();
        assert!(err.to_string().contains(".."), "{err}");
    }

    proptest! {
        /// Whatever is accepted stays inside: no component can climb out.
        #[test]
        fn accepted_paths_never_climb(s in "[a-z./\\\\\0]{0,12}") {
            if let Ok(p) = SandboxPath::new(&s) {
                prop_assert!(p.components().all(|c| c != ".." && c != "." && !c.is_empty()));
                prop_assert!(!p.as_str().starts_with('/'));
            }
        }
    }
}
