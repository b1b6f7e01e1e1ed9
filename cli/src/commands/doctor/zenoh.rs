//! Whether a Zenoh endpoint (router or gallery) accepts TCP connections.

use super::host::Host;
use super::report::{Check, Status};
use std::time::Duration;

/// `tcp/host:port` (also `tls/`, `ws/`, or a bare `host:port`) as the `host:port` to connect to; `Err` for
/// protocols a TCP connection cannot probe.
pub(super) fn zenoh_address(endpoint: &str) -> Result<String, String> {
    let endpoint = endpoint.split('#').next().unwrap_or(endpoint);
    let (proto, addr) = endpoint.split_once('/').unwrap_or(("tcp", endpoint));
    match proto {
        "tcp" | "tls" | "ws" => {}
        other => return Err(format!("`{other}` endpoints cannot be probed with a TCP connection")),
    }
    if !addr.contains(':') {
        return Err(format!("`{endpoint}`: expected tcp/HOST:PORT"));
    }
    Ok(addr.to_owned())
}

pub(super) fn check_zenoh(host: &dyn Host, endpoint: &str, timeout: Duration) -> Check {
    let fix = "start the gallery / router there (systemctl start reid-gallery), and open TCP port 7447 in its \
firewall";
    match zenoh_address(endpoint) {
        Err(e) => Check::new("zenoh", Status::Warn, e, Some("give a tcp/HOST:PORT endpoint".to_owned())),
        Ok(addr) => match host.connect(&addr, timeout) {
            Ok(took) => Check::new(
                "zenoh",
                Status::Ok,
                format!("{endpoint} accepts TCP connections ({:.1} ms)", took.as_secs_f64() * 1e3),
                None,
            ),
            Err(e) => {
                Check::new("zenoh", Status::Missing, format!("{endpoint} unreachable: {e}"), Some(fix.to_owned()))
            }
        },
    }
}
