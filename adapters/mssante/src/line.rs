//! Protocol lines read with a bound, for the SMTP and IMAP clients and the simulator.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The next line, its line end included; `None` at the end of the stream or when `max`
/// bytes pass without a line end, so that a peer that never ends a line cannot make the
/// reader hold unbounded memory.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = reader.take(max).read_until(b'\n', &mut line).await?;
    Ok((read > 0 && line.ends_with(b"\n")).then_some(line))
}

/// [`read_line`] as text without its line end.
pub(crate) async fn read_text<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: u64,
) -> std::io::Result<Option<String>> {
    Ok(read_line(reader, max)
        .await?
        .map(|line| String::from_utf8_lossy(&line).trim_end().to_string()))
}
