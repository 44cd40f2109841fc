use crate::{Request, Response};

/// Ends every guest stdout, so the host can tell a finished response from a
/// guest that died mid-stream.
pub const TRAILER_MAGIC: [u8; 8] = *b"KATAEND1";
/// Bytes at the very end of stdout: the response JSON's length (`u64`, little
/// endian), then [`TRAILER_MAGIC`].
pub const TRAILER_LEN: usize = 16;

/// A malformed stdin or stdout.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Fewer bytes than the frame's header announces.
    #[error("frame truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        need: u64,
        /// Bytes there.
        have: u64,
    },
    /// The stdout did not end in [`TRAILER_MAGIC`]: the guest did not finish.
    #[error("guest output has no trailer: the guest did not finish")]
    NoTrailer,
    /// JSON that is not a request or response.
    #[error("malformed {what} JSON: {source}")]
    Json {
        /// `request` or `response`.
        what: &'static str,
        /// The parser's complaint.
        source: serde_json::Error,
    },
}

/// Encodes a request as the start of the guest's stdin.
pub fn encode_request_frame(request: &Request) -> Vec<u8> {
    let json = serde_json::to_vec(request).expect("a Request always serialises");
    let len = u32::try_from(json.len()).expect("a request over 4 GiB");
    let mut out = Vec::with_capacity(4 + json.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&json);
    out
}

/// Bytes of the length that starts a request frame.
pub const REQUEST_HEADER_LEN: usize = 4;

/// The length of the request JSON that follows a frame's header.
pub fn request_json_len(header: [u8; REQUEST_HEADER_LEN]) -> usize {
    u32::from_le_bytes(header) as usize
}

/// Parses the request JSON of a frame.
pub fn decode_request_json(json: &[u8]) -> Result<Request, FrameError> {
    serde_json::from_slice(json).map_err(|source| FrameError::Json {
        what: "request",
        source,
    })
}

/// Splits the guest's stdin into its request and the payload after it.
pub fn decode_request_frame(stdin: &[u8]) -> Result<(Request, &[u8]), FrameError> {
    let truncated = |need: usize| FrameError::Truncated {
        need: need as u64,
        have: stdin.len() as u64,
    };
    let header = stdin
        .get(..REQUEST_HEADER_LEN)
        .ok_or(truncated(REQUEST_HEADER_LEN))?;
    let end = REQUEST_HEADER_LEN + request_json_len(header.try_into().expect("4 bytes"));
    let json = stdin.get(REQUEST_HEADER_LEN..end).ok_or(truncated(end))?;
    Ok((decode_request_json(json)?, &stdin[end..]))
}

/// Encodes the response and trailer the guest writes after its payload.
pub fn encode_response_trailer(response: &Response) -> Vec<u8> {
    let mut out = serde_json::to_vec(response).expect("a Response always serialises");
    out.extend_from_slice(&(out.len() as u64).to_le_bytes());
    out.extend_from_slice(&TRAILER_MAGIC);
    out
}

/// Splits the guest's stdout into its payload and response.
pub fn decode_response(stdout: &[u8]) -> Result<(&[u8], Response), FrameError> {
    let split = stdout
        .len()
        .checked_sub(TRAILER_LEN)
        .ok_or(FrameError::NoTrailer)?;
    let (body, trailer) = stdout.split_at(split);
    if trailer[8..] != TRAILER_MAGIC {
        return Err(FrameError::NoTrailer);
    }
    let len = u64::from_le_bytes(trailer[..8].try_into().expect("8 bytes"));
    let json_start = (body.len() as u64)
        .checked_sub(len)
        .ok_or(FrameError::Truncated {
            need: len,
            have: body.len() as u64,
        })? as usize;
    let response =
        serde_json::from_slice(&body[json_start..]).map_err(|source| FrameError::Json {
            what: "response",
            source,
        })?;
    Ok((&body[..json_start], response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Op, Outcome};

    #[test]
    fn response_round_trips_after_a_payload() {
        let resp = Response::Ok(Outcome::default());
        let mut stdout = b"tar bytes".to_vec();
        stdout.extend(encode_response_trailer(&resp));
        let (payload, back) = decode_response(&stdout).unwrap();
        assert_eq!(payload, b"tar bytes");
        assert_eq!(back, resp);
    }

    #[test]
    fn a_guest_that_died_mid_stream_is_detected() {
        let mut stdout = b"tar bytes".to_vec();
        stdout.extend(encode_response_trailer(&Response::Ok(Outcome::default())));
        stdout.pop();
        assert!(matches!(
            decode_response(&stdout),
            Err(FrameError::NoTrailer)
        ));
        assert!(matches!(
            decode_response(b"short"),
            Err(FrameError::NoTrailer)
        ));
    }

    #[test]
    fn request_json_is_validated() {
        let json = br#"{"op":{"op":"sync","files":{"../x":""},"previous":[],"mtime":0}}"#;
        let mut stdin = (json.len() as u32).to_le_bytes().to_vec();
        stdin.extend_from_slice(json);
        let err = decode_request_frame(&stdin).unwrap_err();
        assert!(err.to_string().contains(".."), "{err}");
    }

    #[test]
    fn request_round_trips() {
        let req = Request {
            op: Op::Unpack,
            limits: Limits::default(),
        };
        let frame = encode_request_frame(&req);
        assert_eq!(decode_request_frame(&frame).unwrap(), (req, &b""[..]));
    }
}
