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
