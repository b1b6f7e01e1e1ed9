//! A small Chrome DevTools Protocol client for the console's browser tests: starts Debian's `chromium` headless
//! with a private profile, opens a tab over the `/json/new` endpoint and speaks JSON-RPC to it over a websocket
//! (tungstenite), collecting console errors and uncaught exceptions.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// A headless chromium, killed when dropped.
pub struct Browser {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

/// The browser's executable: `$CHROMIUM`, else `chromium` (Debian's package, scripts/setup-chromium.sh).
fn executable() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

impl Browser {
    /// Starts chromium; panics with how to install it when it is missing.
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(executable())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `{}` ({e}): install it with scripts/setup-chromium.sh", executable())
            });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("DevTools listening on ws://127.0.0.1:").nth(1) {
                    let port: u16 = rest.split('/').next().unwrap_or("").parse().unwrap_or(0);
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(30)).expect("chromium did not report its DevTools port");
        Browser { child, port, _profile: profile }
    }

    /// A new tab.
    pub fn tab(&self) -> Tab {
        let reply = http(self.port, "PUT", "/json/new?about:blank");
        let v: Value = serde_json::from_str(&reply).unwrap_or_else(|e| panic!("/json/new: {e}: {reply}"));
        let url = v["webSocketDebuggerUrl"].as_str().expect("webSocketDebuggerUrl").to_owned();
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("websocket to the tab");
        let mut tab = Tab { ws, next: 0, events: Vec::new() };
        for domain in ["Runtime.enable", "Log.enable", "Page.enable", "DOM.enable"] {
            tab.call(domain, json!({}));
        }
        tab
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request to chromium's DevTools endpoint; returns the body (read up to its Content-Length).
fn http(port: u16, method: &str, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok());
            if len.is_some_and(|len| body.len() >= len) {
                return body.to_owned();
            }
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

/// A tab under remote control.
pub struct Tab {
    ws: WebSocket<TcpStream>,
    next: u64,
    /// Every event received so far (method and params).
    pub events: Vec<Value>,
}

impl Tab {
    /// Calls `method`; returns its `result` (panics on a protocol error).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({ "id": id, "method": method, "params": params }).to_string();
        self.ws.send(Message::Text(msg.into())).unwrap();
        loop {
            let m = self.ws.read().unwrap_or_else(|e| panic!("CDP {method}: {e}"));
            let Message::Text(text) = m else { continue };
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("CDP {method}: {e}");
                }
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Evaluates `expr` in the page (promises awaited); returns its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r =
            self.call("Runtime.evaluate", json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }));
        if let Some(e) = r.get("exceptionDetails") {
            panic!("evaluating `{expr}`: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Polls `expr` every 10 ms until it is `true`; returns how long that took. Panics after `timeout`.
    pub fn wait(&mut self, expr: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.eval(expr) == Value::Bool(true) {
                return start.elapsed();
            }
            assert!(start.elapsed() < timeout, "`{expr}` not true after {timeout:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Opens `url` and waits until the console's script has run.
    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.wait("document.body && document.body.dataset.ready === 'yes'", Duration::from_secs(10));
    }

    /// Gives the file input `selector` the file `path`.
    pub fn set_file(&mut self, selector: &str, path: &std::path::Path) {
        let root = self.call("DOM.getDocument", json!({}))["root"]["nodeId"].clone();
        let node = self.call("DOM.querySelector", json!({ "nodeId": root, "selector": selector }))["nodeId"].clone();
        self.call("DOM.setFileInputFiles", json!({ "nodeId": node, "files": [path.to_str().unwrap()] }));
    }

    /// The page as a PNG.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine;
        let r = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }));
        base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap()
    }

    /// Console errors, uncaught exceptions and log errors seen so far, except failed network requests (the
    /// console's refused admin actions are 401s by design; the tests check those replies themselves).
    pub fn errors(&mut self) -> Vec<String> {
        self.eval("1"); // drain what has arrived
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled" if e["params"]["type"] == "error" => Some(e["params"]["args"].to_string()),
                "Log.entryAdded"
                    if e["params"]["entry"]["level"] == "error" && e["params"]["entry"]["source"] != "network" =>
                {
                    Some(e["params"]["entry"].to_string())
                }
                _ => None,
            })
            .collect()
    }
}
