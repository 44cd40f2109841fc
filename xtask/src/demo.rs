//! `cargo xtask demo`: the real server, a real container, a kata going from
//! red to green over HTTP. Speaks HTTP/1.1 by hand so that xtask stays free
//! of dependencies (it must build in seconds on a fresh machine).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, root, run, wasm_target};

const IMAGE: &str = "kata-runner/busybox-bash";
const LAMBDA: &str = "lambda { |stdout, stderr, status|\n  output = stdout + stderr\n  return :green if status == 0\n  return :red if /FAILED/.match(output)\n  return :amber\n}";

pub fn demo() -> Result<(), String> {
    wasm_target()?;
    run("bash", &["images/build", "busybox-bash"])?;
    cargo(&["build", "--package", "kata-runner"])?;

    let katas = std::env::temp_dir().join(format!("kata-runner-demo-{}", std::process::id()));
    let port = free_port()?;
    let mut server = Server(
        Command::new(root().join("target/debug/kata-runner"))
            .args(["serve", "--port", &port.to_string(), "--runner", "katas"])
            .arg("--katas")
            .arg(format!("dir:{}", katas.join("katas").display()))
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?,
    );
    let result = (|| -> Result<(), String> {
        wait_ready(port)?;
        say("1. cyber-dojo's API: POST /run_cyber_dojo_sh with the start files (6 * 9)");
        let red = post(port, "/run_cyber_dojo_sh", &cyber_dojo_body("6 * 9"))?;
        println!("{red}\n");
        expect(&red, "\"outcome\":\"red\"")?;

        say("2. the native API: POST /v1/katas/D3mo42/runs with the fix (6 * 7)");
        let green = post(port, "/v1/katas/D3mo42/runs", &native_body("6 * 7"))?;
        println!("{green}\n");
        expect(&green, "\"outcome\":\"green\"")?;

        say("3. the kata's history: GET /v1/katas/D3mo42/events");
        let events = get(port, "/v1/katas/D3mo42/events")?;
        println!("{events}\n");
        say(&format!(
            "4. the same history as git: git -C {}/katas/D3/mo/42/history.git log --oneline",
            katas.display()
        ));
        let _ = Command::new("git")
            .arg("-C")
            .arg(katas.join("katas/D3/mo/42/history.git"))
            .args(["log", "--oneline"])
            .status();
        Ok(())
    })();
    server.stop();
    let _ = std::fs::remove_dir_all(&katas);
    result?;
    say("demo done: red, then green, in real containers, every file through the WASI guest");
    Ok(())
}

/// The server, stopped with SIGTERM (a graceful shutdown) when dropped.
struct Server(Child);

impl Server {
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            self.stop();
        }
    }
}

pub(crate) fn say(s: &str) {
    println!("\x1b[1m== {s}\x1b[0m");
}

pub(crate) fn expect(body: &str, needle: &str) -> Result<(), String> {
    if body.replace(": ", ":").contains(needle) {
        Ok(())
    } else {
        Err(format!("expected {needle} in the answer"))
    }
}

fn files(answer: &str) -> String {
    let hiker = format!("answer() {{\n  echo $(( {answer} ))\n}}\n");
    let test = "source ./hiker.sh\nif [ \"$(answer)\" = 42 ]; then echo 'test_life_the_universe_and_everything: passed'; else echo \"test_life_the_universe_and_everything: FAILED: expected 42, got $(answer)\"; exit 1; fi\n";
    format!(
        "{{\"cyber-dojo.sh\":{},\"hiker.sh\":{},\"test_hiker.sh\":{}}}",
        json_string("bash ./test_hiker.sh\n"),
        json_string(&hiker),
        json_string(test)
    )
}

pub(crate) fn cyber_dojo_body(answer: &str) -> String {
    format!(
        "{{\"id\":\"D3mo42\",\"files\":{},\"manifest\":{{\"image_name\":\"{IMAGE}\",\"max_seconds\":10,\"rag_lambda\":{}}}}}",
        files(answer),
        json_string(LAMBDA)
    )
}

pub(crate) fn native_body(answer: &str) -> String {
    format!(
        "{{\"files\":{},\"image\":\"{IMAGE}\",\"runner\":\"katas\",\"rag_lambda\":{}}}",
        files(answer),
        json_string(LAMBDA)
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

pub(crate) fn wait_ready(port: u16) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if get(port, "/ready").is_ok_and(|b| b.contains("true")) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err("the server did not become ready within 60 s".into())
}

pub(crate) fn get(port: u16, path: &str) -> Result<String, String> {
    request(port, "GET", path, "")
}

pub(crate) fn post(port: u16, path: &str, body: &str) -> Result<String, String> {
    request(port, "POST", path, body)
}

fn request(port: u16, method: &str, path: &str, body: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or("a malformed HTTP answer")?;
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if !status.starts_with('2') {
        return Err(format!("{method} {path}: HTTP {status}: {body}"));
    }
    Ok(body.to_owned())
}
