//! The operator's bearer token: admin actions (enrol, forget, label) need `Authorization: Bearer <token>`,
//! compared in constant time; everything else is read-only. Also where the console may listen: loopback unless the
//! operator gave a token file.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;

/// Shortest token accepted from a file (characters).
pub const MIN_TOKEN_LEN: usize = 16;
/// Longest token accepted from a file or a request header (bytes).
pub const MAX_TOKEN_LEN: usize = 512;

/// Equal in time independent of where `a` and `b` differ (lengths are compared too, without an early exit).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= (x ^ y) as u64;
    }
    diff == 0
}

/// Whether the `Authorization` header value carries `token` as a bearer token.
pub fn bearer_matches(header: Option<&[u8]>, token: &str) -> bool {
    let Some(h) = header else { return false };
    if h.len() > MAX_TOKEN_LEN + 16 {
        return false;
    }
    let Some(given) = h.strip_prefix(b"Bearer ") else { return false };
    constant_time_eq(given.trim_ascii(), token.as_bytes())
}

/// A new random token: 32 bytes from the operating system's generator, hex-encoded.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads the token in `path` (surrounding white space trimmed), or, when the file does not exist, writes a new one
/// there (mode 0600). Returns the token and whether it was created. An error names the file and what is wrong.
pub fn token_from_file(path: &Path) -> Result<(String, bool), String> {
    let shown = path.display();
    match std::fs::read(path) {
        Ok(bytes) => {
            if bytes.len() > MAX_TOKEN_LEN * 2 {
                return Err(format!("{shown}: {} bytes is too long for a token", bytes.len()));
            }
            let text = String::from_utf8(bytes).map_err(|_| format!("{shown}: the token is not UTF-8 text"))?;
            let token = text.trim();
            if token.len() < MIN_TOKEN_LEN || token.len() > MAX_TOKEN_LEN {
                return Err(format!(
                    "{shown}: a token of {} characters; it must have {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN}",
                    token.len()
                ));
            }
            if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("{shown}: the token contains white space or control characters"));
            }
            Ok((token.to_owned(), false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = new_token().map_err(|e| format!("generating a token: {e}"))?;
            write_private(path, token.as_bytes()).map_err(|e| format!("{shown}: writing a new token: {e}"))?;
            Ok((token, true))
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// Refuses a non-loopback address unless the operator chose the token (a token file): a generated token printed
/// on a terminal is for a console on the same machine. Plain HTTP either way (the README says to put TLS in
/// front of a console reached over a network).
pub fn check_bind(addr: SocketAddr, operator_token: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || operator_token {
        return Ok(());
    }
    Err(format!(
        "--http {addr} is not a loopback address: give --http-token-file FILE (the operator token admin actions \
         need) to serve the console on a network, and put a TLS proxy in front of it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"abcdeg"));
        assert!(!constant_time_eq(b"abcdef", b"abcde"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(bearer_matches(Some(b"Bearer s3cret-token-0123456"), "s3cret-token-0123456"));
        assert!(!bearer_matches(Some(b"Bearer s3cret-token-012345"), "s3cret-token-0123456"));
        assert!(!bearer_matches(Some(b"Basic s3cret-token-0123456"), "s3cret-token-0123456"));
        assert!(!bearer_matches(None, "s3cret-token-0123456"));
    }

    #[test]
    fn token_files_are_created_private_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let (t, created) = token_from_file(&path).unwrap();
        assert!(created && t.len() == 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(token_from_file(&path).unwrap(), (t, false));
        std::fs::write(&path, "short").unwrap();
        assert!(token_from_file(&path).unwrap_err().contains("5 characters"));
        std::fs::write(&path, [0xff, 0xfe, 0xfd]).unwrap();
        assert!(token_from_file(&path).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn non_loopback_needs_an_operator_token() {
        assert!(check_bind("127.0.0.1:8080".parse().unwrap(), false).is_ok());
        assert!(check_bind("[::1]:8080".parse().unwrap(), false).is_ok());
        assert!(check_bind("0.0.0.0:8080".parse().unwrap(), false).unwrap_err().contains("--http-token-file"));
        assert!(check_bind("0.0.0.0:8080".parse().unwrap(), true).is_ok());
    }
}
