//! The protocol between the WASI guest (`guest/`) and its host (`kata-wasi`),
//! defined once and used by both sides.
//!
//! One call of the guest is one command-module run:
//!
//! * **stdin** carries a [`Request`] frame — a little-endian `u32` length, then
//!   that many bytes of JSON — followed by the request's payload, if any (a
//!   tar stream for [`Op::Unpack`] and [`Op::Harvest`] from a tar).
//! * **stdout** carries the response's payload, if any (a tar stream), then
//!   the [`Response`] JSON, then a [`Trailer`]: the JSON's length and a magic
//!   number. The response comes last because it describes the payload the
//!   guest has just streamed out (what was refused, how much was written).
//! * The guest sees exactly one directory, preopened at [`GUEST_DIR`].
//!
//! ```
//! use kata_abi::{Request, Op, Limits, decode_request_frame, encode_request_frame};
//! let req = Request { op: Op::PackDir, limits: Limits::default() };
//! let mut stdin = encode_request_frame(&req);
//! stdin.extend_from_slice(b"payload");
//! let (back, payload) = decode_request_frame(&stdin).unwrap();
//! assert_eq!(back, req);
//! assert_eq!(payload, b"payload");
//! ```
//!
//! This crate does no I/O: it only says what the bytes mean.
#![deny(missing_docs)]

mod frame;
mod message;

pub use frame::{
    FrameError, REQUEST_HEADER_LEN, TRAILER_LEN, TRAILER_MAGIC, decode_request_frame,
    decode_request_json, decode_response, encode_request_frame, encode_response_trailer,
    request_json_len,
};
pub use message::{
    Delta, GuestFailure, HarvestSource, Limits, MAX_REFUSALS_LISTED, Op, Outcome, Refusal,
    RefusalReason, Report, Request, Response, Timestamp,
};

/// Where the guest finds the one directory it may touch.
pub const GUEST_DIR: &str = "/kata";
