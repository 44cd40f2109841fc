//! The kata-runner guest: a WASI command that does every file operation of a
//! run on the one directory it is given ([`kata_abi::GUEST_DIR`]).
//!
//! Everything here parses untrusted input — tar streams written by user code,
//! names chosen by users — which is why it runs inside wasmtime and not in the
//! server: a bug here can reach one kata's directory, nothing else.
//!
//! The protocol (stdin: request frame + payload; stdout: payload + response +
//! trailer) is defined in `kata-abi`.

mod budget;
mod fsops;
mod harvest;
mod pack;
mod synctar;
mod tarin;
mod unpack;
mod walk;

use std::io::{self, BufWriter, Read, Write};

use kata_abi::{
    GuestFailure, Op, Outcome, REQUEST_HEADER_LEN, Request, Response, decode_request_json,
    encode_response_trailer, request_json_len,
};

fn main() {
    let mut stdin = io::stdin().lock();
    // Rust's stdout is line-buffered: a tar is not lines.
    let mut stdout = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let response = match read_request(&mut stdin) {
        Ok(request) => match run(request, &mut stdin, &mut stdout) {
            Ok(outcome) => Response::Ok(outcome),
            Err(message) => Response::Failed(GuestFailure { message }),
        },
        Err(message) => Response::Failed(GuestFailure { message }),
    };
    // If stdout itself is broken (the host's cap was hit) there is nobody to
    // tell: the missing trailer says it.
    let _ = stdout.write_all(&encode_response_trailer(&response));
    let _ = stdout.flush();
}

fn read_request(stdin: &mut impl Read) -> Result<Request, String> {
    let mut header = [0; REQUEST_HEADER_LEN];
    stdin
        .read_exact(&mut header)
        .map_err(|e| format!("reading request header: {e}"))?;
    let mut json = vec![0; request_json_len(header)];
    stdin
        .read_exact(&mut json)
        .map_err(|e| format!("reading request: {e}"))?;
    decode_request_json(&json).map_err(|e| e.to_string())
}

/// Errors that end a job are plain messages: the host wraps them with the
/// kata and operation they belong to.
pub type Result<T, E = String> = std::result::Result<T, E>;

fn run(request: Request, stdin: &mut impl Read, stdout: &mut impl Write) -> Result<Outcome> {
    let limits = &request.limits;
    match request.op {
        Op::PackDir => pack::pack_dir(limits, stdout),
        Op::PackFiles { files, mtime } => pack::pack_files(&files, mtime, stdout),
        Op::Sync {
            files,
            previous,
            mtime,
        } => fsops::sync(&files, &previous, mtime),
        Op::SyncTar {
            files,
            previous,
            mtime,
        } => synctar::sync_tar(&files, &previous, mtime, limits, stdin, stdout),
        Op::Unpack => unpack::unpack(limits, stdin),
        Op::Harvest { source, baseline } => {
            harvest::harvest(source, &baseline, limits, stdin, stdout)
        }
    }
}
