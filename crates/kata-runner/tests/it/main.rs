//! The `kata-runner` binary as a person uses it: real processes, real
//! containers (the images `images/build` makes).

use std::path::Path;
use std::process::{Command, Output};

fn kata_runner(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kata-runner"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_command_has_help() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["serve", "--help"], &["run", "--help"]] {
        let out = kata_runner(args, tmp.path());
        assert!(out.status.success(), "{args:?}");
        assert!(
            text(&out.stdout).contains("Usage"),
            "{args:?}: {}",
            text(&out.stdout)
        );
    }
    let serve = text(&kata_runner(&["serve", "--help"], tmp.path()).stdout);
    for flag in [
        "--port",
        "--katas",
        "--runner",
        "--concurrency",
        "--queue",
        "--max-seconds",
        "KATA_RUNNER_PORT",
    ] {
        assert!(serve.contains(flag), "serve --help lacks {flag}");
    }
}

/// cyber-dojo's gcc_assert kata, answering `answer`.
fn c_kata(dir: &Path, answer: &str) {
    std::fs::write(dir.join("cyber-dojo.sh"), "make --no-print-directory\n").unwrap();
    std::fs::write(
        dir.join("makefile"),
        "test: tests.out\n\t./tests.out\n\ntests.out: hiker.c hiker.h hiker.tests.c\n\tgcc -Wall hiker.c hiker.tests.c -o tests.out\n",
    )
    .unwrap();
    std::fs::write(dir.join("hiker.h"), "int answer(void);\n").unwrap();
    std::fs::write(
        dir.join("hiker.c"),
        format!("#include \"hiker.h\"\nint answer(void) {{ return {answer}; }}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("hiker.tests.c"),
        "#include \"hiker.h\"\n#include <assert.h>\n#include <stdio.h>\nint main(void) { assert(answer() == 42); puts(\"All tests passed\"); return 0; }\n",
    )
    .unwrap();
}

#[test]
fn run_prints_the_output_and_exits_zero_only_when_green() {
    let tmp = tempfile::tempdir().unwrap();
    let kata = tmp.path().join("hiker");
    std::fs::create_dir(&kata).unwrap();
    let katas = format!("dir:{}", tmp.path().join("katas").display());

    c_kata(&kata, "6 * 9");
    let red = kata_runner(
        &[
            "run",
            "hiker",
            "--image",
            "kata-runner/gcc",
            "--katas",
            &katas,
        ],
        tmp.path(),
    );
    assert_eq!(red.status.code(), Some(1), "{}", text(&red.stderr));
    assert!(
        text(&red.stderr).contains("Assertion"),
        "{}",
        text(&red.stderr)
    );
    assert!(
        text(&red.stderr).contains(": red (status 2)"),
        "{}",
        text(&red.stderr)
    );

    c_kata(&kata, "6 * 7");
    let green = kata_runner(
        &[
            "run",
            "hiker",
            "--image",
            "kata-runner/gcc",
            "--runner",
            "katas",
            "--katas",
            &katas,
        ],
        tmp.path(),
    );
    assert_eq!(green.status.code(), Some(0), "{}", text(&green.stderr));
    assert!(text(&green.stdout).contains("All tests passed"));
    assert!(
        text(&green.stderr).contains("event 2: green"),
        "the same kata's history: {}",
        text(&green.stderr)
    );
}

#[test]
fn bad_input_is_a_clear_message_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["run", "no-such-dir", "--image", "kata-runner/gcc"],
            "no kata directory",
        ),
        (
            &["run", ".", "--image", "kata-runner/gcc", "--id", "../etc"],
            "invalid kata id",
        ),
        (
            &["run", ".", "--image", "kata-runner/gcc", "--katas", "ftp:x"],
            "expected dir:PATH or docker-volume:NAME",
        ),
        (
            &["run", ".", "--image", "kata-runner/gcc", "--runner", "fast"],
            "unknown runner",
        ),
    ];
    std::fs::write(tmp.path().join("cyber-dojo.sh"), "true").unwrap();
    for (args, message) in cases {
        let out = kata_runner(args, tmp.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

/// One HTTP/1.1 request by hand (this crate has no HTTP client): status line
/// and body.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(String, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Ok((
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    ))
}

#[test]
fn sigterm_lets_a_run_in_flight_finish_then_stops() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let katas = format!("dir:{}", tmp.path().join("katas").display());
    let mut server = Command::new(env!("CARGO_BIN_EXE_kata-runner"))
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--katas",
            &katas,
            "--shutdown-grace-secs",
            "20",
        ])
        .args(["--instance", "kata-runner-sigterm-test"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while http(port, "GET", "/ready", "").is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = r#"{"files":{"cyber-dojo.sh":"sleep 3; echo finished"},"image":"kata-runner/busybox-bash","rules":[{"else":"green"}]}"#;
    let request = std::thread::spawn(move || http(port, "POST", "/v1/katas/S1gter/runs", body));
    std::thread::sleep(Duration::from_secs(1));
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let (status, answer) = request
        .join()
        .unwrap()
        .expect("the run in flight is answered");
    assert!(status.contains("201"), "{status}: {answer}");
    assert!(answer.contains("finished"), "{answer}");
    let exited = server.wait().unwrap();
    assert!(exited.success(), "{exited}");
    assert!(started.elapsed() < Duration::from_secs(30));
    // New connections are refused once it has stopped.
    assert!(http(port, "GET", "/alive", "").is_err());
}
