//! The little HTTP/1.1 the fakes on 127.0.0.1 need: one request off a connection.
#![allow(dead_code)]

use std::io::BufRead;

/// One request: its head lines (the request line first, each with its `\r\n`) and its body.
pub struct Request {
    pub head: Vec<String>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, by its name in any case.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.head.iter().find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix(&prefix)
                .map(|value| value.trim().to_owned())
        })
    }
}

/// The next request on the connection; `None` when it is closed or broken.
pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let mut request = Request {
        head,
        body: Vec::new(),
    };
    let length = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    request.body = vec![0; length];
    reader.read_exact(&mut request.body).ok()?;
    Some(request)
}
