//! MIME multipart bodies (RFC 2046), as MTOM/XOP (SOAP with attachments) and e-mail use
//! them: writing, and reading untrusted input under limits.

/// One part: its headers (name in lower case) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    pub fn new(headers: &[(&str, &str)], body: Vec<u8>) -> Part {
        Part {
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Content-ID without its angle brackets.
    pub fn content_id(&self) -> Option<&str> {
        self.header("content-id")
            .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>'))
    }
}

/// Writes parts with CRLF line ends between `--boundary` delimiters.
pub fn write(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let size: usize = parts.iter().map(|p| p.body.len() + 256).sum();
    let mut out = Vec::with_capacity(size);
    for part in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &part.headers {
            out.extend_from_slice(canonical_header_name(name).as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out
}

fn canonical_header_name(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
        .replace("Content-Id", "Content-ID")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("no boundary in the Content-Type")]
    NoBoundary,
    #[error("more than {0} parts")]
    TooManyParts(usize),
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

/// A parameter of a header value (`boundary`, `start`, `type`…), unquoted.
pub fn parameter<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').skip(1).find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"'))
    })
}

/// Splits a body into its parts. `max_parts` bounds the work an attacker can cause; the
/// body itself is already bounded by the caller.
pub fn parse(
    content_type: &str,
    body: &[u8],
    max_parts: usize,
) -> Result<Vec<Part>, MultipartError> {
    let boundary = parameter(content_type, "boundary").ok_or(MultipartError::NoBoundary)?;
    if boundary.is_empty() || boundary.len() > 200 {
        return Err(MultipartError::NoBoundary);
    }
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut position =
        find(body, delimiter, 0).ok_or(MultipartError::Malformed("no opening delimiter"))?;
    let mut parts = Vec::new();
    loop {
        position += delimiter.len();
        if body[position..].starts_with(b"--") {
            return Ok(parts);
        }
        position = skip_line_end(body, position)
            .ok_or(MultipartError::Malformed("no line end after a delimiter"))?;
        if parts.len() == max_parts {
            return Err(MultipartError::TooManyParts(max_parts));
        }
        let header_end = find(body, b"\r\n\r\n", position)
            .ok_or(MultipartError::Malformed("headers without an end"))?;
        let headers = parse_headers(&body[position..header_end])?;
        let content_start = header_end + 4;
        let next = find_delimiter(body, delimiter, content_start)
            .ok_or(MultipartError::Malformed("no closing delimiter"))?;
        // The line end before the delimiter belongs to it, unless it is the headers' own
        // (an empty part whose delimiter follows the blank line at once).
        let content_end = if next >= content_start + 2 && &body[next - 2..next] == b"\r\n" {
            next - 2
        } else {
            next
        };
        parts.push(Part {
            headers,
            body: body[content_start..content_end].to_vec(),
        });
        position = next;
    }
}

fn parse_headers(block: &[u8]) -> Result<Vec<(String, String)>, MultipartError> {
    let text = std::str::from_utf8(block)
        .map_err(|_| MultipartError::Malformed("headers are not UTF-8"))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header.
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(MultipartError::Malformed("header without a colon"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(headers)
}

fn skip_line_end(body: &[u8], position: usize) -> Option<usize> {
    let rest = body.get(position..)?;
    let trimmed = rest
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    let rest = &rest[trimmed..];
    if rest.starts_with(b"\r\n") {
        Some(position + trimmed + 2)
    } else if rest.starts_with(b"\n") {
        Some(position + trimmed + 1)
    } else {
        None
    }
}

/// The next delimiter that starts a line.
fn find_delimiter(body: &[u8], delimiter: &[u8], from: usize) -> Option<usize> {
    let mut start = from;
    loop {
        let at = find(body, delimiter, start)?;
        if at == from || body.get(at.wrapping_sub(1)) == Some(&b'\n') {
            return Some(at);
        }
        start = at + 1;
    }
}

/// Where `needle` first occurs in `haystack` at or after `from`; never for an empty needle.
pub fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let parts = vec![
            Part::new(
                &[
                    ("Content-Type", "application/xop+xml"),
                    ("Content-ID", "<root@x>"),
                ],
                b"<soap/>".to_vec(),
            ),
            Part::new(
                &[("Content-Type", "text/xml"), ("Content-ID", "<doc1@x>")],
                b"line\r\n--notaboundary\r\n".to_vec(),
            ),
        ];
        let body = write("b0undary", &parts);
        let read = parse(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"b0undary\"",
            &body,
            10,
        )
        .unwrap();
        assert_eq!(read, parts);
        assert_eq!(read[1].content_id(), Some("doc1@x"));
    }

    #[test]
    fn a_part_empty_up_to_its_delimiter_is_empty() {
        // Found by fuzzing: the delimiter right after the headers' blank line.
        let read = parse(
            "multipart/related; boundary=b",
            b"--b\r\nContent-ID: <x>\r\n\r\n--b--",
            10,
        )
        .unwrap();
        assert_eq!(read.len(), 1);
        assert!(read[0].body.is_empty());
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert_eq!(
            parse("multipart/related", b"", 10),
            Err(MultipartError::NoBoundary)
        );
        assert!(parse("multipart/related; boundary=b", b"garbage", 10).is_err());
        assert!(
            parse(
                "multipart/related; boundary=b",
                b"--b\r\nno-colon\r\n\r\nx\r\n--b--",
                10
            )
            .is_err()
        );
        assert!(
            parse(
                "multipart/related; boundary=b",
                b"--b\r\nA: 1\r\n\r\nunterminated",
                10
            )
            .is_err()
        );
        let many = "--b\r\nA: 1\r\n\r\nx\r\n".repeat(20) + "--b--";
        assert_eq!(
            parse("multipart/related; boundary=b", many.as_bytes(), 10),
            Err(MultipartError::TooManyParts(10))
        );
    }
}
