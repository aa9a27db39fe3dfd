//! The codec of `/greenledger/sync/1`: one CBOR value per stream each way (the bytes libp2p's
//! CBOR codec writes), with one difference that matters against hostile peers. A request that
//! is too big or does not decode is delivered to the node as [`WireRequest::Undecodable`]
//! rather than failing inside the stream handler, where the node would never hear of it; the
//! node then refuses it and strikes the peer that sent it.

use std::io;

use futures::prelude::*;
use libp2p::{StreamProtocol, request_response};

use super::protocol::{SyncRequest, SyncResponse};

/// A request as it arrives: a sync request, or bytes that are not one.
#[derive(Debug, Clone)]
pub enum WireRequest {
    /// A well-formed request.
    Request(SyncRequest),
    /// What was wrong with the bytes received (never sent: writing one is an error).
    Undecodable(String),
}

impl From<SyncRequest> for WireRequest {
    fn from(r: SyncRequest) -> Self {
        WireRequest::Request(r)
    }
}

/// CBOR with a size limit each way.
#[derive(Debug, Clone)]
pub struct SyncCodec {
    max_request: u64,
    max_response: u64,
}

impl SyncCodec {
    /// A codec reading requests of at most `max_request` bytes and responses of at most
    /// `max_response` bytes.
    pub fn new(max_request: u64, max_response: u64) -> Self {
        SyncCodec {
            max_request,
            max_response,
        }
    }
}

/// Reads the whole stream, up to `max` bytes; `None` when there is more.
async fn read_at_most<T: AsyncRead + Unpin + Send>(io: &mut T, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    io.take(max + 1).read_to_end(&mut buf).await?;
    Ok((buf.len() as u64 <= max).then_some(buf))
}

fn encode<V: serde::Serialize>(v: &V) -> io::Result<Vec<u8>> {
    cbor4ii::serde::to_vec(Vec::new(), v).map_err(io::Error::other)
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = WireRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<WireRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let Some(bytes) = read_at_most(io, self.max_request).await? else {
            return Ok(WireRequest::Undecodable(format!(
                "a request is at most {} bytes",
                self.max_request
            )));
        };
        match cbor4ii::serde::from_slice::<SyncRequest>(&bytes) {
            Ok(r) => Ok(WireRequest::Request(r)),
            // Nothing, or a value cut short: a stream closed early (a request cancelled, a
            // node shutting down) looks the same, so it is a failed transfer, not garbage.
            Err(cbor4ii::serde::DecodeError::Core(cbor4ii::core::error::DecodeError::Eof { .. })) => {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the request ended early"))
            }
            Err(e) => Ok(WireRequest::Undecodable(format!("not a sync request: {e}"))),
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let Some(bytes) = read_at_most(io, self.max_response).await? else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a response is at most {} bytes", self.max_response),
            ));
        };
        if bytes.is_empty() {
            // No answer at all (the peer went away or dropped the request): not garbage.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the stream without answering",
            ));
        }
        cbor4ii::serde::from_slice(&bytes).map_err(|e| match e {
            // Cut short: the peer went away mid-answer.
            cbor4ii::serde::DecodeError::Core(cbor4ii::core::error::DecodeError::Eof { .. }) => {
                io::Error::new(io::ErrorKind::UnexpectedEof, "the response ended early")
            }
            e => io::Error::new(io::ErrorKind::InvalidData, format!("not a sync response: {e}")),
        })
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: WireRequest) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let WireRequest::Request(req) = req else {
            return Err(io::Error::other("an undecodable request is never sent"));
        };
        io.write_all(&encode(&req)?).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, resp: SyncResponse) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&encode(&resp)?).await
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use libp2p::request_response::Codec;

    use super::*;

    fn read(bytes: &[u8]) -> io::Result<WireRequest> {
        let mut codec = SyncCodec::new(64, 64);
        block_on(codec.read_request(
            &crate::p2p::protocol::PROTOCOL,
            &mut futures::io::Cursor::new(bytes.to_vec()),
        ))
    }

    #[test]
    fn garbage_is_handed_over_and_a_cut_request_is_a_transfer_failure() {
        let good = encode(&SyncRequest::Peers { network: "n".into() }).unwrap();
        assert!(matches!(
            read(&good),
            Ok(WireRequest::Request(SyncRequest::Peers { .. }))
        ));
        // Not a request: the node gets to strike the sender.
        assert!(matches!(read(&[0x85, 1, 2, 3, 4, 5]), Ok(WireRequest::Undecodable(_))));
        assert!(matches!(read(&[0xff; 65]), Ok(WireRequest::Undecodable(m)) if m.contains("at most 64 bytes")));
        // Nothing, or cut short: the stream ended early, which is not the sender's fault.
        for cut in [&[][..], &good[..good.len() - 1]] {
            let e = read(cut).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        }
    }
}
