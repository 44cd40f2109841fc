//! Hostile payloads, from inside the container and from the request, each
//! against the real server. Every case must end in its expected clean
//! result, and every case is also held to what holds for all of them
//! ([`check_common`]): an answer within `max_seconds` + 1 s, no container
//! left, nothing outside the kata read or changed, the server's memory
//! bounded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Answer, Backend, GCC, SECRET_OTHER_KATA, SECRET_OUTSIDE, SMALL, Server, fresh_id,
};

/// The server's peak resident memory may not pass this, whatever a run does
/// (100 MB floods and 1 GB files included): every stream is capped while it
/// arrives.
pub const MEMORY_BOUND: u64 = 400 << 20;
/// The margin the issue allows past `max_seconds`.
const MARGIN: Duration = Duration::from_secs(1);

type Expect = fn(&Answer, &Server) -> Result<(), String>;

/// A run from inside the container.
pub struct Inside {
    pub name: &'static str,
    pub image: &'static str,
    pub max_seconds: u32,
    /// `cyber-dojo.sh`.
    pub script: &'static str,
    /// More files (name, content).
    pub files: &'static [(&'static str, &'static str)],
    pub backends: &'static [Backend],
    pub expect: Expect,
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

fn ran(a: &Answer) -> Result<(), String> {
    ensure(a.status == 201, || format!("{}: {}", a.status, a.text))?;
    ensure(a.outcome() != "faulty", || format!("faulty: {}", a.text))
}

fn ran_with(a: &Answer, outcomes: &[&str]) -> Result<(), String> {
    ensure(a.status == 201, || format!("{}: {:.600}", a.status, a.text))?;
    ensure(outcomes.contains(&a.outcome()), || {
        format!(
            "outcome {} not in {outcomes:?}: {:.600}",
            a.outcome(),
            a.text
        )
    })
}

fn refused(a: &Answer, path: &str, reason: &str) -> Result<(), String> {
    ensure(a.refused_as(path, reason), || {
        format!("{path} not refused as {reason}: {:.600}", a.body["refused"])
    })?;
    ensure(!a.created().iter().any(|c| c == path), || {
        format!("{path} was returned")
    })
}

/// The traffic lights of every case: status 0 is green, else red (the small
/// image has no `red_amber_green.rb`).
pub fn rules() -> Value {
    json!([{"if": {"status": 0}, "then": "green"}, {"else": "red"}])
}

const ALL: &[Backend] = &Backend::ALL;
const KATAS: &[Backend] = &[Backend::Dir, Backend::Volume];

pub fn inside_cases() -> Vec<Inside> {
    vec![
        Inside {
            name: "fork_bomb_shell",
            image: SMALL,
            max_seconds: 3,
            script: ":(){ :|:& };:\n",
            files: &[],
            backends: ALL,
            expect: |a, _| ran_with(a, &["timed_out", "red", "amber", "green"]),
        },
        Inside {
            name: "fork_bomb_c",
            image: GCC,
            max_seconds: 4,
            script: "gcc -o bomb bomb.c && ./bomb\n",
            files: &[(
                "bomb.c",
                "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n",
            )],
            backends: ALL,
            expect: |a, _| ran_with(a, &["timed_out", "red", "amber", "green"]),
        },
        Inside {
            name: "fd_exhaustion",
            image: GCC,
            max_seconds: 4,
            script: "gcc -o fds fds.c && ./fds\n",
            files: &[(
                "fds.c",
                "#include <fcntl.h>\n#include <stdio.h>\n#include <errno.h>\n#include <string.h>\n\
                 int main(void) { int n = 0; while (open(\"fds.c\", O_RDONLY) >= 0) n++;\n\
                 printf(\"opened %d then: %s\\n\", n, strerror(errno)); return 1; }\n",
            )],
            backends: ALL,
            expect: |a, _| {
                ran_with(a, &["red", "amber"])?;
                ensure(a.stdout().contains("Too many open files"), || {
                    format!("stdout: {}", a.stdout())
                })
            },
        },
        Inside {
            name: "fill_sandbox",
            image: SMALL,
            max_seconds: 6,
            script: "for i in 1 2 3; do dd if=/dev/zero of=big$i bs=1M count=120 2>&1 | tail -1; done; echo done\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(a.stdout().contains("done"), || a.text.clone())?;
                over_budget(a)
            },
        },
        Inside {
            name: "fill_tmp",
            image: SMALL,
            max_seconds: 6,
            script: "dd if=/dev/zero of=/tmp/big bs=1M count=400 2>&1 | tail -1; echo still here\n",
            files: &[],
            backends: ALL,
            // The script's own output lives in /tmp too, so what it prints
            // once /tmp is full is lost; its status and the run are not.
            expect: |a, _| ran_with(a, &["red", "green"]),
        },
        Inside {
            name: "stdout_flood_100mb",
            image: SMALL,
            max_seconds: 8,
            script: "head -c 100000000 /dev/zero | tr '\\0' x\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                let n = a.stdout().len();
                ensure((50_000..=60_000).contains(&n), || {
                    format!("stdout is {n} bytes, not cut at the cap")
                })
            },
        },
        Inside {
            name: "stdout_flood_fills_tmp",
            image: SMALL,
            max_seconds: 10,
            script: "head -c 300000000 /dev/zero | tr '\\0' x; echo \"tr: $?\" >&2\n",
            files: &[],
            backends: &[Backend::Tmp, Backend::Volume],
            expect: |a, _| {
                ran(a)?;
                let n = a.stdout().len();
                ensure((50_000..=60_000).contains(&n), || {
                    format!("stdout is {n} bytes")
                })
            },
        },
        Inside {
            name: "stderr_flood_100mb",
            image: SMALL,
            max_seconds: 8,
            script: "head -c 100000000 /dev/zero | tr '\\0' x >&2\n",
            files: &[],
            backends: &[Backend::Tmp],
            expect: |a, _| {
                ran(a)?;
                let n = a.stderr().len();
                ensure((50_000..=60_000).contains(&n), || {
                    format!("stderr is {n} bytes")
                })
            },
        },
        Inside {
            name: "file_grows_until_fsize",
            image: SMALL,
            max_seconds: 6,
            script: "cat /dev/zero > grow; echo \"cat ended: $?\"\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(a.stdout().contains("cat ended"), || a.text.clone())?;
                over_budget(a)
            },
        },
        Inside {
            name: "infinite_loop",
            image: SMALL,
            max_seconds: 2,
            script: "while :; do :; done\n",
            files: &[],
            backends: ALL,
            expect: |a, _| ran_with(a, &["timed_out"]),
        },
        Inside {
            name: "child_ignores_sigterm_and_outlives_the_script",
            image: SMALL,
            max_seconds: 5,
            script: "(trap '' TERM HUP; while :; do echo tick >> ticks; sleep 0.1; done) &\n\
                     setsid sh -c 'trap \"\" TERM; sleep 1000' &\necho left them\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran_with(a, &["green", "red", "amber"])?;
                ensure(a.elapsed < Duration::from_secs(4), || {
                    format!("the children held the run for {:?}", a.elapsed)
                })
            },
        },
        Inside {
            name: "symlink_to_etc_passwd",
            image: SMALL,
            max_seconds: 3,
            script: "ln -s /etc/passwd passwd; ln -s ../../../../../../etc/shadow shadow; echo linked\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                refused(a, "passwd", "symlink")?;
                refused(a, "shadow", "symlink")?;
                ensure(!a.text.contains("root:x:0:0"), || "passwd leaked".into())
            },
        },
        Inside {
            name: "symlink_to_another_kata",
            image: SMALL,
            max_seconds: 3,
            script: "ln -s \"$OTHER\" other; ln -s ../../../SE/NT/L1/sandbox/secret.txt rel; echo linked\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                refused(a, "other", "symlink")?;
                refused(a, "rel", "symlink")
            },
        },
        Inside {
            name: "symlinked_directory_then_write_through_it",
            image: SMALL,
            max_seconds: 3,
            script: "ln -s /tmp d; echo x > d/through; mkdir real; ln -s real alias; echo linked\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                refused(a, "d", "symlink")?;
                refused(a, "alias", "symlink")
            },
        },
        Inside {
            name: "hard_link",
            image: SMALL,
            max_seconds: 3,
            script: "echo original > a.txt; ln a.txt b.txt; ln /etc/passwd pw 2>/dev/null; echo linked\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(!a.text.contains("root:x:0:0"), || "passwd leaked".into())?;
                // One name of the pair may come back as a regular file; the
                // other is refused, so no entry can alias another.
                let names = a.created();
                let both =
                    names.contains(&"a.txt".to_owned()) && names.contains(&"b.txt".to_owned());
                let refused_one = a.refused().iter().any(|(_, r)| r == "hard_link");
                ensure(!both || !refused_one, || {
                    format!("{names:?} {:?}", a.refused())
                })?;
                ensure(!names.contains(&"pw".to_owned()), || "pw returned".into())
            },
        },
        Inside {
            name: "fifo",
            image: SMALL,
            max_seconds: 3,
            script: "mkfifo pipe; echo made\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                // Through WASI preview 1 a FIFO in a directory looks like any
                // other special file; in a tar it is named.
                refused(a, "pipe", "fifo").or_else(|_| refused(a, "pipe", "other_type"))
            },
        },
        Inside {
            name: "device_node",
            image: SMALL,
            max_seconds: 3,
            script: "mknod null c 1 3; mknod disk b 8 0; echo \"mknod: $?\"; ls -l\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(
                    !a.created().iter().any(|c| c == "null" || c == "disk"),
                    || "a device came back".into(),
                )
            },
        },
        Inside {
            name: "hundred_thousand_small_files",
            image: SMALL,
            max_seconds: 10,
            script: "mkdir many && cd many && for i in $(seq 100000); do : > $i; done; ls | wc -l\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                // Making 100,000 files may take longer than the run may.
                ensure(a.status == 201, || a.text.clone())?;
                ensure(
                    a.outcome() == "timed_out"
                        || a.refused()
                            .iter()
                            .any(|(_, r)| r == "too_many_entries" || r == "too_many_bytes"),
                    || format!("not capped: {:.400}", a.text),
                )
            },
        },
        Inside {
            name: "sparse_file_1gb",
            image: SMALL,
            max_seconds: 5,
            script: "dd if=/dev/zero of=sparse bs=1 count=0 seek=1G 2>&1; \
                     dd if=/dev/zero of=sparse200 bs=1 count=0 seek=200M 2>&1; ls -ls\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                // `sparse` stays empty (fsize); `sparse200` is binary: at
                // most listed as omitted, never returned with content.
                let created = &a.body["created"];
                ensure(created.get("sparse200").is_none(), || a.text.clone())?;
                ensure(
                    created
                        .get("sparse")
                        .is_none_or(|c| c["content"] == json!("")),
                    || a.text.clone(),
                )
            },
        },
        Inside {
            name: "deep_directory_nesting",
            image: SMALL,
            max_seconds: 5,
            script: "for i in $(seq 300); do mkdir d && cd d || break; done; echo deep > f; echo made\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(a.refused().iter().any(|(_, r)| r == "bad_path"), || {
                    format!("nothing refused: {:.600}", a.body["refused"])
                })
            },
        },
        Inside {
            name: "name_with_newline",
            image: SMALL,
            max_seconds: 3,
            script: "echo x > \"$(printf 'new\\nline')\"; echo made\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(
                    a.refused()
                        .iter()
                        .any(|(p, r)| p.contains("new") && r == "bad_path"),
                    || format!("{:.600}", a.body["refused"]),
                )
            },
        },
        Inside {
            name: "names_with_dots_and_dashes",
            image: SMALL,
            max_seconds: 3,
            script: "echo a > ..a; echo b > a..b; echo c > ...; echo d > -rf; echo e > --help; echo made\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                let names = a.created();
                for n in ["..a", "a..b", "...", "-rf", "--help"] {
                    ensure(names.contains(&n.to_owned()), || {
                        format!("{n} not returned: {names:?}")
                    })?;
                }
                Ok(())
            },
        },
        Inside {
            name: "non_utf8_name",
            image: SMALL,
            max_seconds: 3,
            script: "mkdir sub; echo x > \"sub/$(printf 'bad\\377\\376')\"; echo ok > fine.txt; echo made\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(
                    a.refused().iter().any(|(p, r)| {
                        p.starts_with("sub") && (r == "bad_path" || r == "unlistable")
                    }),
                    || format!("{:.600}", a.body["refused"]),
                )?;
                ensure(a.created().contains(&"fine.txt".to_owned()), || {
                    format!("fine.txt lost: {:?}", a.created())
                })
            },
        },
        Inside {
            name: "name_of_300_bytes",
            image: SMALL,
            max_seconds: 3,
            script: "n=$(printf 'a%.0s' $(seq 300)); echo x > \"$n\"; echo \"status $?\"; echo x > \"${n:0:255}\"\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ran(a)?;
                ensure(a.created().iter().any(|c| c.len() == 255), || {
                    format!("the 255-byte name is lost: {:?}", a.created())
                })
            },
        },
        Inside {
            name: "memory_hog",
            image: GCC,
            max_seconds: 8,
            script: "gcc -O0 -o hog hog.c && ./hog\n",
            files: &[(
                "hog.c",
                "#include <stdlib.h>\n#include <string.h>\n\
                 int main(void) { for (;;) { char *p = malloc(64 << 20); if (!p) return 3; memset(p, 1, 64 << 20); } }\n",
            )],
            backends: &[Backend::Tmp],
            expect: |a, _| ran_with(a, &["red", "amber", "timed_out"]),
        },
        Inside {
            name: "no_network_not_even_the_server",
            image: SMALL,
            max_seconds: 4,
            script: "for h in 172.17.0.1 10.0.2.2 1.1.1.1; do \
                     (echo > /dev/tcp/$h/$PORT) 2>/dev/null && echo \"reached $h\"; done; \
                     cat /sys/class/net/*/operstate; echo probed\n",
            files: &[],
            backends: &[Backend::Tmp],
            expect: |a, _| {
                ran(a)?;
                ensure(a.stdout().contains("probed"), || a.text.clone())?;
                ensure(!a.stdout().contains("reached"), || a.stdout().to_owned())
            },
        },
        Inside {
            name: "writes_outside_the_sandbox",
            image: SMALL,
            max_seconds: 3,
            script: "for f in /etc/evil /home/sandbox/evil /usr/evil /evil; do \
                     echo x > $f 2>/dev/null && echo \"wrote $f\"; done; echo tried\n",
            files: &[],
            backends: &[Backend::Tmp],
            expect: |a, _| {
                ran(a)?;
                ensure(!a.stdout().contains("wrote"), || a.stdout().to_owned())
            },
        },
        Inside {
            name: "kills_the_wrapper",
            image: SMALL,
            max_seconds: 3,
            script: "kill -9 $PPID; kill -9 -1\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ensure(a.status == 201, || a.text.clone())?;
                ensure(a.outcome() == "faulty", || {
                    format!("outcome {}", a.outcome())
                })
            },
        },
        Inside {
            name: "garbles_the_wrapper_stdout",
            image: SMALL,
            max_seconds: 3,
            script: "echo garbage > /proc/$PPID/fd/1; head -c 5000 /dev/urandom > /proc/$PPID/fd/1; echo done\n",
            files: &[],
            backends: ALL,
            expect: |a, _| {
                ensure(a.status == 201, || a.text.clone())?;
                ensure(
                    ["faulty", "green", "red", "amber"].contains(&a.outcome()),
                    || a.text.clone(),
                )
            },
        },
        Inside {
            name: "deletes_and_replaces_cyber_dojo_sh",
            image: SMALL,
            max_seconds: 3,
            script: "rm -rf ./*; mkdir cyber-dojo.sh; echo gone\n",
            files: &[("keep.txt", "kept")],
            backends: KATAS,
            // run_inside then checks that the next run, which syncs
            // cyber-dojo.sh back, works.
            expect: |a, _| {
                ran(a)?;
                let deleted = a.body["deleted"].to_string();
                ensure(deleted.contains("keep.txt"), || {
                    format!("deleted: {deleted}")
                })
            },
        },
    ]
}

/// A sandbox over the byte budget: what did not fit is refused, so the
/// client knows that part of it did not come back.
fn over_budget(a: &Answer) -> Result<(), String> {
    ensure(
        a.refused()
            .iter()
            .any(|(_, r)| r == "too_many_bytes" || r == "file_too_large"),
        || format!("nothing refused for size: {:.600}", a.body["refused"]),
    )
}

/// One line of the table in docs/SECURITY.md.
pub struct Row {
    pub case: String,
    pub backend: &'static str,
    pub answer: String,
    pub elapsed: Duration,
    pub limit: Option<Duration>,
    pub peak_rss: u64,
    pub verdict: Result<(), String>,
}

pub static ROWS: Mutex<Vec<Row>> = Mutex::new(Vec::new());

fn summary(a: &Answer) -> String {
    if a.status != 201 {
        return format!("{} `{}`", a.status, a.error_code());
    }
    let mut reasons: Vec<String> = a.refused().into_iter().map(|(_, r)| r).collect();
    reasons.sort();
    reasons.dedup();
    if reasons.is_empty() {
        a.outcome().to_owned()
    } else {
        format!("{}; refused: {}", a.outcome(), reasons.join(", "))
    }
}

/// The table of every case run, as markdown.
pub fn table() -> String {
    let rows = ROWS.lock().unwrap();
    let mut out = String::from(
        "| case | backend | answer | time | limit | server peak RSS | result |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows.iter() {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} s | {} | {} MiB | {} |\n",
            r.case,
            r.backend,
            r.answer,
            r.elapsed.as_secs_f64(),
            r.limit
                .map_or("-".to_owned(), |l| format!("{} s", l.as_secs())),
            r.peak_rss >> 20,
            match &r.verdict {
                Ok(()) => "pass".to_owned(),
                Err(e) => format!(
                    "FAIL: {}",
                    e.chars().take(80).collect::<String>().replace('|', "/")
                ),
            }
        ));
    }
    out
}

/// Runs one inside case on `server` and checks it.
pub fn run_inside(case: &Inside, server: &Server) -> Result<(), String> {
    let mut row = None;
    let verdict = run_inside_once(case, server, &mut row);
    if let Some((answer, elapsed)) = row {
        ROWS.lock().unwrap().push(Row {
            case: case.name.to_owned(),
            backend: server.backend.name(),
            answer,
            elapsed,
            limit: Some(Duration::from_secs(case.max_seconds.into()) + MARGIN),
            peak_rss: server.peak_rss(),
            verdict: verdict.clone(),
        });
    }
    verdict
}

fn run_inside_once(
    case: &Inside,
    server: &Server,
    row: &mut Option<(String, Duration)>,
) -> Result<(), String> {
    let id = fresh_id();
    let mut files = serde_json::Map::new();
    let mut script = String::new();
    // What the script may want to aim at: the other kata's file on the host,
    // and the server's port.
    script.push_str(&format!(
        "OTHER='{}'; PORT={}\n",
        server
            .kata_dir(crate::support::OTHER_KATA)
            .join("sandbox/secret.txt")
            .display(),
        server.port
    ));
    script.push_str(case.script);
    files.insert("cyber-dojo.sh".into(), json!(script));
    for (name, content) in case.files {
        files.insert((*name).into(), json!(content));
    }
    let body = json!({
        "image": case.image, "max_seconds": case.max_seconds, "files": files, "rules": rules(),
    });
    let except = server.kata_dir(&id);
    let before = server.snapshot_except(&except);
    let mut answer = server.run(&id, body.clone());
    if let Value::Object(o) = &mut answer.body {
        o.insert("kata".into(), json!(id));
    }
    *row = Some((summary(&answer), answer.elapsed));
    (case.expect)(&answer, server).map_err(|e| {
        let log = if answer.status >= 500 {
            server.log()
        } else {
            String::new()
        };
        format!("{}: {e}\n{log}", case.name)
    })?;
    check_common(server, &answer, case.max_seconds, &before, &except)?;
    // The kata is still usable: the next run of a harmless script works.
    if server.backend != Backend::Tmp {
        let mut files = body["files"].clone();
        files["cyber-dojo.sh"] = json!("echo fine");
        let next = server.run(
            &id,
            json!({"image": SMALL, "max_seconds": 5, "files": files, "rules": rules()}),
        );
        ensure(next.status == 201 && next.outcome() != "faulty", || {
            format!(
                "the next run of the kata: {} {:.600}",
                next.status, next.text
            )
        })?;
        ensure(next.stdout().contains("fine"), || next.text.clone())?;
    }
    Ok(())
}

/// What every case must leave true.
pub fn check_common(
    server: &Server,
    answer: &Answer,
    max_seconds: u32,
    before: &std::collections::BTreeMap<std::path::PathBuf, String>,
    except: &std::path::Path,
) -> Result<(), String> {
    let limit = Duration::from_secs(max_seconds.into()) + MARGIN;
    ensure(answer.elapsed <= limit, || {
        format!("answered after {:?}, past {limit:?}", answer.elapsed)
    })?;
    ensure(
        !answer.text.contains(SECRET_OUTSIDE) && !answer.text.contains(SECRET_OTHER_KATA),
        || "a sentinel's content is in the answer".into(),
    )?;
    let left = server.containers_left();
    ensure(left.is_empty(), || format!("containers left: {left:?}"))?;
    let after = server.snapshot_except(except);
    if &after != before {
        let changed: Vec<_> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(v))
            .map(|(k, _)| k.display().to_string())
            .chain(
                before
                    .keys()
                    .filter(|k| !after.contains_key(*k))
                    .map(|k| format!("{} (gone)", k.display())),
            )
            .collect();
        return Err(format!("outside the kata, changed: {changed:?}"));
    }
    server.check_sentinels()?;
    let rss = server.peak_rss();
    ensure(rss <= MEMORY_BOUND, || {
        format!("server peak memory {} MiB", rss >> 20)
    })?;
    ensure(server.ready(), || "the server is not ready".into())
}

/// A request case: a body (raw bytes) and the error it must get.
pub struct Request {
    pub name: &'static str,
    /// `native` or `cyber-dojo`.
    pub path: String,
    pub body: Vec<u8>,
    pub status: u16,
    /// The error code (native API) or a fragment of cyber-dojo's message.
    pub reason: &'static str,
}

fn native(id: &str, files: Value) -> (String, Vec<u8>) {
    (
        format!("/v1/katas/{id}/runs"),
        json!({"image": SMALL, "max_seconds": 3, "files": files})
            .to_string()
            .into_bytes(),
    )
}

fn with_script(mut files: Value) -> Value {
    files["cyber-dojo.sh"] = json!("echo hi > /dev/null");
    files
}

pub fn request_cases() -> Vec<Request> {
    let id = "REQ123";
    let mut cases = Vec::new();
    let mut add = |name, (path, body): (String, Vec<u8>), status, reason| {
        cases.push(Request {
            name,
            path,
            body,
            status,
            reason,
        })
    };
    add(
        "name_with_dotdot",
        native(id, with_script(json!({"../../sentinel.txt": "x"}))),
        400,
        "bad_body",
    );
    add(
        "name_with_inner_dotdot",
        native(id, with_script(json!({"a/../../b": "x"}))),
        400,
        "bad_body",
    );
    add(
        "absolute_name",
        native(id, with_script(json!({"/etc/passwd": "x"}))),
        400,
        "bad_body",
    );
    add(
        "name_with_nul",
        native(id, with_script(json!({"a\u{0}b": "x"}))),
        400,
        "bad_body",
    );
    add(
        "name_with_backslash",
        native(id, with_script(json!({"..\\..\\x": "x"}))),
        400,
        "bad_body",
    );
    add(
        "name_of_300_bytes",
        native(id, with_script(json!({"a".repeat(300): "x"}))),
        400,
        "bad_body",
    );
    let mut many = serde_json::Map::new();
    for i in 0..10_000 {
        many.insert(format!("f{i}.txt"), json!("x"));
    }
    add(
        "ten_thousand_files",
        native(id, with_script(Value::Object(many))),
        400,
        "too_many_files",
    );
    let big = "x".repeat(50 << 20);
    add(
        "body_of_50_mb",
        native(id, with_script(json!({ "big.txt": big }))),
        413,
        "too_large",
    );
    add(
        "invalid_json",
        (format!("/v1/katas/{id}/runs"), b"{\"files\": {".to_vec()),
        400,
        "bad_body",
    );
    add(
        "wrong_types",
        (
            format!("/v1/katas/{id}/runs"),
            br#"{"image": 7, "files": ["cyber-dojo.sh"], "max_seconds": "10"}"#.to_vec(),
        ),
        400,
        "bad_body",
    );
    add(
        "file_content_not_a_string",
        native(id, with_script(json!({"a.txt": {"content": 1}}))),
        400,
        "bad_body",
    );
    add(
        "no_cyber_dojo_sh",
        native(id, json!({"a.txt": "x"})),
        400,
        "bad_files",
    );
    add(
        "file_and_directory_clash",
        native(id, with_script(json!({"a": "x", "a/b": "y"}))),
        400,
        "bad_files",
    );
    add(
        "id_with_slash_encoded",
        native("AB%2FCD", with_script(json!({}))),
        400,
        "bad_id",
    );
    add(
        "id_with_dotdot",
        native("..%2F..%2Fx", with_script(json!({}))),
        400,
        "bad_id",
    );
    add(
        "max_seconds_out_of_range",
        (
            format!("/v1/katas/{id}/runs"),
            json!({"image": SMALL, "max_seconds": 100000, "files": {"cyber-dojo.sh": "true"}})
                .to_string()
                .into_bytes(),
        ),
        400,
        "bad_max_seconds",
    );
    add(
        "hostile_image_name",
        (
            format!("/v1/katas/{id}/runs"),
            json!({"image": "--privileged ../x", "max_seconds": 3, "files": {"cyber-dojo.sh": "true"}})
                .to_string()
                .into_bytes(),
        ),
        400,
        "bad_image",
    );
    // cyber-dojo's API: the id and files are in the body.
    let cd = |id: &str, files: Value| {
        json!({"id": id, "image_name": SMALL, "max_seconds": 3, "files": files})
            .to_string()
            .into_bytes()
    };
    add(
        "cyber_dojo_id_with_slash",
        (
            "/run_cyber_dojo_sh".into(),
            cd("../../x", with_script(json!({}))),
        ),
        400,
        "id",
    );
    add(
        "cyber_dojo_name_with_dotdot",
        (
            "/run_cyber_dojo_sh".into(),
            cd("REQ123", with_script(json!({"../x": "x"}))),
        ),
        400,
        "files",
    );
    add(
        "cyber_dojo_invalid_json",
        ("/run_cyber_dojo_sh".into(), b"{not json".to_vec()),
        400,
        "json",
    );
    cases
}

/// Sends one request case; checks the clear error, and that nothing was
/// written for it.
pub fn run_request(case: &Request, server: &Server) -> Result<(), String> {
    let mut row = None;
    let verdict = run_request_once(case, server, &mut row);
    if let Some((answer, elapsed)) = row {
        ROWS.lock().unwrap().push(Row {
            case: format!("request: {}", case.name),
            backend: server.backend.name(),
            answer,
            elapsed,
            limit: None,
            peak_rss: server.peak_rss(),
            verdict: verdict.clone(),
        });
    }
    verdict
}

fn run_request_once(
    case: &Request,
    server: &Server,
    row: &mut Option<(String, Duration)>,
) -> Result<(), String> {
    let except = server.root.path().join("nothing-is-excepted");
    let before = server.snapshot_except(&except);
    let answer = if case.body.len() > 8 << 20 {
        server.send_big(&case.path, case.body.clone())
    } else {
        server.send(reqwest::Method::POST, &case.path, case.body.clone())
    };
    *row = Some((summary(&answer), answer.elapsed));
    ensure(answer.status == case.status, || {
        format!(
            "{}: status {} not {}: {:.300}",
            case.name, answer.status, case.status, answer.text
        )
    })?;
    let reason = if case.path.starts_with("/v1") {
        answer.error_code().to_owned()
    } else {
        answer.body["exception"].to_string().to_lowercase()
    };
    ensure(reason.contains(case.reason), || {
        format!(
            "{}: reason {reason:?} lacks {:?}: {:.300}",
            case.name, case.reason, answer.text
        )
    })?;
    let after = server.snapshot_except(&except);
    ensure(after == before, || {
        format!("{}: the request changed files", case.name)
    })?;
    let left = server.containers_left();
    ensure(left.is_empty(), || format!("containers left: {left:?}"))?;
    server.check_sentinels()?;
    let rss = server.peak_rss();
    ensure(rss <= MEMORY_BOUND, || {
        format!("server peak memory {} MiB", rss >> 20)
    })
}

/// One server per backend, shared by the cases, started on first use.
pub struct Servers {
    slots: Vec<Mutex<Option<Arc<Server>>>>,
}

impl Servers {
    pub fn new() -> Self {
        Self {
            slots: Backend::ALL.iter().map(|_| Mutex::new(None)).collect(),
        }
    }

    pub fn get(&self, backend: Backend) -> Arc<Server> {
        let i = Backend::ALL.iter().position(|b| *b == backend).unwrap();
        let mut slot = self.slots[i].lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| Arc::new(Server::start(backend, backend.name(), &[])))
            .clone()
    }

    pub fn shut_down(&self) {
        for slot in &self.slots {
            slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
    }
}
