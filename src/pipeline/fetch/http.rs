//! One bounded HTTP GET: a timeout on the whole request, a cap on the body.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use super::FetchError;

pub fn get(url: &str, timeout: Duration, max_bytes: u64) -> Result<String, FetchError> {
    let fail = |message: String, timed_out: bool| FetchError { message, timed_out };
    let tls = native_tls::TlsConnector::new().map_err(|e| fail(format!("TLS: {e}"), false))?;
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .tls_connector(Arc::new(tls))
        .build();
    let resp = agent.get(url).call().map_err(|e| {
        let timed_out = matches!(&e, ureq::Error::Transport(t) if is_timeout(t));
        let message = match &e {
            ureq::Error::Status(code, _) => format!("HTTP status {code}"),
            ureq::Error::Transport(t) if timed_out => {
                format!("no answer within {} s ({t})", timeout.as_secs_f64())
            }
            ureq::Error::Transport(t) => t.to_string(),
        };
        fail(message, timed_out)
    })?;
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.kind() == std::io::ErrorKind::WouldBlock;
            fail(format!("reading the answer: {e}"), timed_out)
        })?;
    if bytes.len() as u64 > max_bytes {
        return Err(fail(
            format!("the answer is larger than {} MiB", max_bytes >> 20),
            false,
        ));
    }
    String::from_utf8(bytes).map_err(|_| fail("the answer is not UTF-8 text".into(), false))
}

fn is_timeout(t: &ureq::Transport) -> bool {
    use std::error::Error as _;
    let mut source = t.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return true;
            }
        }
        source = s.source();
    }
    t.to_string().contains("timed out")
}
