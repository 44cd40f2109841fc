use crate::ExecError;

/// Checks an image reference and adds `:latest` when it has no tag or
/// digest, as cyber-dojo does.
pub fn normalize_image(name: &str) -> Result<String, ExecError> {
    let bad = || ExecError::InvalidImage {
        image: name.chars().take(256).collect(),
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
    if name.is_empty()
        || name.len() > 255
        || !name.chars().all(allowed)
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || name.ends_with([':', '/', '@'])
    {
        return Err(bad());
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    if name.contains('@') || last.contains(':') {
        Ok(name.to_owned())
    } else {
        Ok(format!("{name}:latest"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_latest_only_when_untagged() {
        let cases = [
            ("gcc", "gcc:latest"),
            (
                "cyberdojofoundation/gcc_assert:56fa098",
                "cyberdojofoundation/gcc_assert:56fa098",
            ),
            ("localhost:5000/gcc", "localhost:5000/gcc:latest"),
            ("localhost:5000/gcc:1", "localhost:5000/gcc:1"),
            ("gcc@sha256:abcd", "gcc@sha256:abcd"),
        ];
        for (given, want) in cases {
            assert_eq!(normalize_image(given).unwrap(), want);
        }
    }

    #[test]
    fn rejects_what_docker_would_misread() {
        for bad in [
            "",
            " gcc",
            "gcc latest",
            "-gcc",
            "gcc:",
            "a/../b;rm",
            "gcc\n",
            "/gcc",
        ] {
            assert!(normalize_image(bad).is_err(), "{bad:?}");
        }
    }
}
