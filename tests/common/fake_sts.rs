//! A fake STS on 127.0.0.1 in front of moto: `AssumeRole` into the denied accounts is refused
//! as AWS refuses a role that is missing or does not trust the caller (403 `AccessDenied`);
//! every other request is passed to moto unchanged, so the credentials it returns act in that
//! account there.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::http::read_request;

pub struct FakeSts {
    pub endpoint: String,
    /// `AssumeRole` calls refused, per denied account.
    refused: Arc<Mutex<Vec<String>>>,
    forwarded: Arc<AtomicUsize>,
}

impl FakeSts {
    /// Refuses `AssumeRole` into `denied`; forwards everything else to `moto` (`http://127.0.0.1:PORT`).
    pub fn start(moto: &str, denied: &[&str]) -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = moto.trim_start_matches("http://").to_owned();
        assert!(upstream.starts_with("127.0.0.1:"), "{upstream}");
        let denied: Vec<String> = denied.iter().map(|a| a.to_string()).collect();
        let refused = Arc::new(Mutex::new(Vec::new()));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let (refused_log, forwarded_count) = (refused.clone(), forwarded.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (upstream, denied) = (upstream.clone(), denied.clone());
                let (refused, forwarded) = (refused_log.clone(), forwarded_count.clone());
                std::thread::spawn(move || serve(stream, &upstream, &denied, &refused, &forwarded));
            }
        });
        FakeSts {
            endpoint,
            refused,
            forwarded,
        }
    }

    pub fn refused(&self) -> Vec<String> {
        self.refused.lock().unwrap().clone()
    }

    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::Relaxed)
    }
}

/// One request per connection: the answer says `Connection: close`.
fn serve(
    stream: TcpStream,
    upstream: &str,
    denied: &[String],
    refused: &Mutex<Vec<String>>,
    forwarded: &AtomicUsize,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let body = request.body;
    let head: Vec<String> = request
        .head
        .into_iter()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let text = String::from_utf8_lossy(&body)
        .replace("%3A", ":")
        .replace("%2F", "/");
    if let Some(account) = denied
        .iter()
        .find(|a| text.contains(&format!("iam::{a}:role/")))
    {
        refused.lock().unwrap().push(account.clone());
        let xml = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
             arn:aws:sts::123456789012:assumed-role/secret-deletion-alerts/fn is not authorized \
             to perform: sts:AssumeRole on resource: arn:aws:iam::{account}:role/member</Message>\
             </Error><RequestId>fake-sts</RequestId></ErrorResponse>"
        );
        let answer = format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
        let _ = writer.write_all(answer.as_bytes());
        return;
    }
    forwarded.fetch_add(1, Ordering::Relaxed);
    let mut moto = TcpStream::connect(upstream).unwrap();
    let mut request: Vec<u8> = head.concat().into_bytes();
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    request.extend_from_slice(&body);
    moto.write_all(&request).unwrap();
    let mut answer = Vec::new();
    moto.read_to_end(&mut answer).unwrap();
    let _ = writer.write_all(&answer);
}
