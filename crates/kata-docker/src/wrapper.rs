//! The shell script every container runs instead of the image's entrypoint.
//!
//! It is POSIX `sh`, not bash, so that an image without bash can be told
//! apart from a failing `cyber-dojo.sh`. Its protocol with the host:
//!
//! * stdin (tar mode): a tar of the sandbox, unpacked into `/sandbox`.
//! * stdout: exactly one tar, written after `cyber-dojo.sh` has ended, holding
//!   `tmp/.kata-runner/out/{status,stdout,stderr}` and then `sandbox/...`.
//!   The script's own stdout and stderr go to files, never to the container's
//!   stdout, so nothing it prints can be mistaken for the frame. (A script can
//!   still damage its own results, e.g. by writing into `/proc/<wrapper>/fd/1`
//!   as the same uid; the host parses whatever arrives with caps, and a
//!   garbled frame is a [`Harvest`](crate::ExecError::Harvest) error.)
//! * stderr: the wrapper's own diagnostics.
//! * exit status: 0, or one of the codes below.
//!
//! Processes the script leaves behind are killed (`kill -9 -1`, which spares
//! the caller and PID 1) before `/sandbox` is archived, so the archive is a
//! snapshot of the sandbox as the script left it.
//!
//! A script that fills `/tmp` (its own files, or a flood of output) must not
//! cost it its results, and the results need room: the wrapper first deletes
//! the script's files in `/tmp`, then cuts the output files in place with
//! `dd` (truncation needs no free space, a copy would), then writes the status.

/// docker-init's status when it cannot exec `/bin/sh`; the wrapper never
/// exits with it (a missing `tar` or `head` fails a step with its own code).
pub(crate) const EXIT_NO_SHELL: i64 = 127;
/// The image has no bash.
pub(crate) const EXIT_NO_BASH: i64 = 92;
/// `tar -c` reported an error: the archive may lack some files.
pub(crate) const EXIT_TAR_INCOMPLETE: i64 = 95;

/// Where the wrapper keeps its results; the prefix of their tar entries.
pub(crate) const OUT_PREFIX: &str = "tmp/.kata-runner/out/";
/// The prefix of the sandbox's tar entries.
pub(crate) const SANDBOX_PREFIX: &str = "sandbox/";

/// `$1`: `tar` or `bind`; `$2`, `$3`: how many bytes of the script's stdout
/// and stderr to send back (one more than the cap, so that the host can tell
/// a cut stream from one exactly at the cap).
pub(crate) const SCRIPT: &str = r#"k=/tmp/.kata-runner
command -v bash >/dev/null 2>&1 || { echo 'kata-runner: no bash in this image' >&2; exit 92; }
mkdir -p "$k/out" || exit 90
if [ "$1" = tar ]; then
  tar -xf - -C /sandbox || { echo 'kata-runner: could not unpack the sandbox' >&2; exit 91; }
fi
cd /sandbox || exit 93
bash ./cyber-dojo.sh </dev/null >"$k/stdout" 2>"$k/stderr"
s=$?
kill -9 -1 2>/dev/null
for f in /tmp/* /tmp/.[!.]* /tmp/..?*; do [ "$f" = "$k" ] || rm -rf "$f" 2>/dev/null; done
n=$(wc -c <"$k/stdout") && { [ $n -le $2 ] || dd if=/dev/null of="$k/stdout" bs="$2" seek=1 count=0 2>/dev/null; } || exit 94
n=$(wc -c <"$k/stderr") && { [ $n -le $3 ] || dd if=/dev/null of="$k/stderr" bs="$3" seek=1 count=0 2>/dev/null; } || exit 94
mv "$k/stdout" "$k/stderr" "$k/out/" || exit 94
echo "$s" >"$k/out/status" || exit 94
cd / || exit 93
if [ "$1" = tar ]; then set -- tmp/.kata-runner/out sandbox; else set -- tmp/.kata-runner/out; fi
tar -cf - "$@" || exit 95
"#;
