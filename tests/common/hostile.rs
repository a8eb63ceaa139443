//! Hostile payloads, built in code so nothing large is committed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use secret_deletion_alerts::logs::gzip_base64;

/// A pending-deletion read with every caller-controlled field chosen by the caller.
pub fn pending_deletion_read(
    secret_id: &str,
    user_agent: &str,
    session: &str,
) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "eventTime": "2026-11-20T14:03:12Z",
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": user_agent,
        "errorCode": "InvalidRequestException",
        "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
        "requestParameters": {"secretId": secret_id},
        "eventID": "0a5c2b4e-1d3f-4e6a-8b7c-9d0e1f2a3b99",
        "requestID": "6c1f2a8e-0b7d-4c55-9a51-3f2d3c9e1a99",
        "recipientAccountId": "123456789012",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::123456789012:assumed-role/app-role/{session}"),
            "accessKeyId": "ASIAEXAMPLEHOSTILE01",
            "sessionContext": {"sessionIssuer": {"userName": "app-role",
                               "arn": "arn:aws:iam::123456789012:role/app-role"}}
        }
    })
}

/// A subscription payload (`awslogs.data`) whose log events carry these messages.
pub fn payload(messages: &[String]) -> String {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| serde_json::json!({"id": format!("{i:056}"), "timestamp": 1_700_000_000_000_i64 + i as i64, "message": m}))
        .collect();
    let envelope = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012",
        "logGroup": "aws-cloudtrail-logs", "logStream": "123456789012_CloudTrail_us-east-1",
        "subscriptionFilters": ["secret-deletion-alerts"], "logEvents": events,
    });
    gzip_base64(envelope.to_string().as_bytes()).unwrap()
}

/// base64(gzip) of `size` bytes of zeros, compressed as hard as deflate goes (about 1000:1),
/// streamed so the test itself never holds the inflated bytes.
pub fn gzip_bomb(size: usize) -> String {
    use base64::Engine;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        gzip.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap())
}

/// JSON nested `depth` arrays deep.
pub fn deeply_nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}
