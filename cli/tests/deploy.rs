//! deploy/: install.sh into a staging root (twice: the same tree; an edited config kept), the pipeline runner's
//! quoting, `systemd-analyze verify` on the installed units (SKIPPED without systemd-analyze), the Zenoh router
//! config against zenoh's own parser and the gallery ACL, `bash -n` of every shell script, and the launch line
//! deepstream-sgie.sh builds (with a stand-in gst-launch-1.0: no DeepStream here).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// A build folder with a stand-in `reid` and `libgstreid.so`.
fn fake_build(dir: &Path) -> PathBuf {
    let build = dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("reid"), "#!/bin/sh\necho reid \"$@\"\n").unwrap();
    std::fs::set_permissions(build.join("reid"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(build.join("libgstreid.so"), b"\x7fELF not really").unwrap();
    build
}

/// Runs install.sh with a `systemctl` on PATH that records being called.
fn install(root: &Path, build: &Path, extra: &[&str], marker: &Path) -> String {
    let bin = marker.parent().unwrap().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("systemctl"), format!("#!/bin/sh\necho \"$@\" >> {}\n", marker.display())).unwrap();
    std::fs::set_permissions(bin.join("systemctl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg(deploy().join("install.sh"))
        .args(["--root", root.to_str().unwrap(), "--build-dir", build.to_str().unwrap()])
        .args(extra)
        .env("PATH", path)
        .output()
        .expect("run install.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "install.sh failed:\n{text}");
    text
}

/// Every file and folder under `root`: kind, permission bits and contents.
fn tree(root: &Path) -> BTreeMap<PathBuf, (char, u32, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (char, u32, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_owned();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, ('d', mode, Vec::new()));
                walk(root, &path, out);
            } else {
                out.insert(rel, ('f', mode, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A temporary folder with a fake build, the staging root to install into and the systemctl marker file.
fn staging() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let build = fake_build(dir.path());
    let (root, marker) = (dir.path().join("root"), dir.path().join("systemctl-called"));
    (dir, build, root, marker)
}

#[test]
fn deploy_install_twice_gives_the_same_tree_and_keeps_edited_config() {
    let (_dir, build, root, marker) = staging();
    let first = install(&root, &build, &[], &marker);
    assert!(first.contains("installed"), "{first}");
    let once = tree(&root);
    for f in [
        "opt/reid/bin/reid",
        "opt/reid/bin/reid-pipeline",
        "opt/reid/lib/gstreamer-1.0/libgstreid.so",
        "opt/reid/share/doc/reid/jetson.md",
        "opt/reid/share/reid/pipelines/synthetic.pipeline",
        "opt/reid/share/reid/systemd/jetson.conf",
        "etc/reid/gallery.env",
        "etc/reid/pipeline.env",
        "etc/reid/zenoh/gallery-acl.json5",
        "etc/reid/zenoh/router.json5",
        "etc/systemd/system/reid-gallery.service",
        "etc/systemd/system/reid-pipeline@.service",
    ] {
        assert_eq!(once.get(Path::new(f)).map(|e| e.0), Some('f'), "{f} not installed: {:?}", once.keys());
    }
    assert_eq!(once[Path::new("opt/reid/bin/reid")].1, 0o755);
    assert_eq!(once[Path::new("etc/reid/gallery.env")].1, 0o644);
    assert_eq!(once[Path::new("etc/reid/pipelines")].0, 'd');
    assert_eq!(once[Path::new("opt/reid/bin/reid")].2, std::fs::read(build.join("reid")).unwrap());

    let second = install(&root, &build, &[], &marker);
    assert!(second.contains("install.sh: 0 file(s) changed"), "{second}");
    assert_eq!(tree(&root), once, "a second run must not change the tree");

    // An edited config is kept; the shipped one goes next to it, and a third run changes nothing more.
    let env = root.join("etc/reid/gallery.env");
    std::fs::write(&env, "REID_GALLERY_ARGS=--db /var/lib/reid/mine.redb\n").unwrap();
    let third = install(&root, &build, &[], &marker);
    assert!(third.contains("kept edited"), "{third}");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "REID_GALLERY_ARGS=--db /var/lib/reid/mine.redb\n");
    let shipped = std::fs::read(deploy().join("etc/gallery.env")).unwrap();
    assert_eq!(std::fs::read(root.join("etc/reid/gallery.env.default")).unwrap(), shipped);
    let after_edit = tree(&root);
    install(&root, &build, &[], &marker);
    assert_eq!(tree(&root), after_edit);
    // A changed program file is replaced.
    std::fs::write(build.join("reid"), "#!/bin/sh\necho v2\n").unwrap();
    install(&root, &build, &[], &marker);
    assert_eq!(std::fs::read_to_string(root.join("opt/reid/bin/reid")).unwrap(), "#!/bin/sh\necho v2\n");

    assert!(!marker.exists(), "install.sh --root must never run systemctl");
}

#[test]
fn deploy_install_writes_other_prefixes_into_units_and_configs() {
    let (_dir, build, root, marker) = staging();
    install(&root, &build, &["--prefix", "/usr/local/reid", "--etc", "/etc/reid-edge"], &marker);
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/reid-gallery.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/reid/bin/reid gallery serve --tls-ca %d/ca.pem"), "{unit}");
    assert!(unit.contains("LoadCredential=gallery.key:/etc/reid-edge/site/gallery.key"), "{unit}");
    assert!(unit.contains("EnvironmentFile=/etc/reid-edge/gallery.env"));
    assert!(!unit.contains("/opt/reid"));
    let pipeline = std::fs::read_to_string(root.join("etc/systemd/system/reid-pipeline@.service")).unwrap();
    assert!(pipeline.contains("Environment=GST_PLUGIN_PATH=/usr/local/reid/lib/gstreamer-1.0"));
    let env = std::fs::read_to_string(root.join("etc/reid-edge/gallery.env")).unwrap();
    assert!(env.contains("--zenoh-config /etc/reid-edge/site/gallery.json5"), "{env}");
    assert!(root.join("usr/local/reid/bin/reid").exists());
    // Bad arguments are refused.
    let out = Command::new("bash").arg(deploy().join("install.sh")).args(["--prefix", "relative"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be an absolute path"));
}

#[test]
fn deploy_pipeline_runner_unquotes_like_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-gst-launch");
    std::fs::write(&fake, "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.path().join("cam1.pipeline"),
        "# a comment\nvideotestsrc num-buffers=2 \\\n  ! \"video/x-raw, format=RGBA\"\n  # another\n  ! fakesink name='the sink'\n",
    )
    .unwrap();
    let run = |name: &str, launcher: &Path| {
        Command::new(deploy().join("bin/reid-pipeline"))
            .arg(name)
            .env("REID_PIPELINE_DIR", dir.path())
            .env("GST_LAUNCH", launcher)
            .output()
            .unwrap()
    };
    let out = run("cam1", &fake);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[-e]\n[videotestsrc]\n[num-buffers=2]\n[!]\n[video/x-raw, format=RGBA]\n[!]\n[fakesink]\n[name=the sink]\n"
    );
    let out = run("absent", &fake);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.pipeline"));
    // The real gst-launch-1.0 runs the same file.
    if Path::new("/usr/bin/gst-launch-1.0").exists() {
        let out = run("cam1", Path::new("/usr/bin/gst-launch-1.0"));
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn deploy_systemd_units_verify() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIPPED: systemd-analyze not installed (apt-get install systemd)");
        return;
    };
    assert!(version.status.success());
    let (dir, build, root, marker) = staging();
    install(&root, &build, &[], &marker);
    // `verify` needs ExecStart's program to exist: point the installed units at the staging root.
    let units = dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let rewrite = |name: &str, as_name: &str| {
        let text = std::fs::read_to_string(root.join("etc/systemd/system").join(name)).unwrap();
        let text = text
            .replace("/opt/reid", &root.join("opt/reid").display().to_string())
            .replace("/etc/reid", &root.join("etc/reid").display().to_string());
        std::fs::write(units.join(as_name), text).unwrap();
        units.join(as_name)
    };
    let files = [
        rewrite("reid-gallery.service", "reid-gallery.service"),
        rewrite("reid-pipeline@.service", "reid-pipeline@.service"),
        rewrite("reid-pipeline@.service", "reid-pipeline@cam1.service"),
    ];
    let out = Command::new("systemd-analyze").arg("verify").args(&files).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify failed:\n{stderr}");
    assert!(!stderr.contains("reid-"), "systemd-analyze verify warns:\n{stderr}");
    // And it does catch a broken unit (an unknown key, a missing program).
    let broken = units.join("broken.service");
    let text = std::fs::read_to_string(&files[0]).unwrap().replace("[Service]\n", "[Service]\nRestartt=always\n");
    std::fs::write(&broken, text.replace(&root.join("opt/reid").display().to_string(), "/nonexistent")).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&broken).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("Restartt") && stderr.contains("/nonexistent"), "{stderr}");
}

#[test]
fn deploy_zenoh_router_config_parses_and_names_the_gallery() {
    use reid_gallery::net::{NetConfig, ZenohConfig};
    let json = |file: &str, key: &str| -> serde_json::Value {
        let net = NetConfig { config_file: Some(deploy().join("zenoh").join(file)), ..NetConfig::default() };
        let config = net.to_zenoh().unwrap_or_else(|e| panic!("{file}: {e}"));
        serde_json::from_str(&config.get_json(key).unwrap()).unwrap()
    };
    assert_eq!(json("router.json5", "listen/endpoints"), serde_json::json!(["tcp/0.0.0.0:7447"]));
    let text = std::fs::read_to_string(deploy().join("zenoh/router.json5")).unwrap();
    assert!(text.contains("mode: \"router\""));
    let (r, a) = (json("router.json5", "access_control"), json("gallery-acl.json5", "access_control"));
    assert_eq!(r["enabled"], true);
    assert_eq!(r["default_permission"], "deny");
    assert_eq!(r["rules"], a["rules"], "the router enforces the gallery's rules");
    let gallery_id = json("gallery-client.json5", "id");
    let admin_id = json("admin-client.json5", "id");
    let subjects = r["subjects"].as_array().unwrap();
    let zids = |id: &str| subjects.iter().find(|s| s["id"] == id).map(|s| s["zids"].clone());
    assert_eq!(zids("admin"), Some(serde_json::json!([admin_id])));
    assert_eq!(zids("gallery"), Some(serde_json::json!([gallery_id])));
    let policies = r["policies"].as_array().unwrap();
    let changes = policies.iter().find(|p| p["rules"] == serde_json::json!(["changes"])).unwrap();
    assert_eq!(changes["subjects"], serde_json::json!(["admin", "gallery"]));
    // zenoh's parser rejects a misspelt section, so the parse above checks the schema.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.json5"), "{ acces_control: { enabled: true } }").unwrap();
    let bad = NetConfig { config_file: Some(dir.path().join("bad.json5")), ..NetConfig::default() };
    assert!(bad.to_zenoh().is_err());
}

#[test]
fn deploy_shell_scripts_parse() {
    let mut scripts = vec![deploy().join("install.sh"), deploy().join("bin/reid-pipeline")];
    let mut pipelines: Vec<PathBuf> = std::fs::read_dir(deploy().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    pipelines.sort();
    assert!(pipelines.iter().any(|p| p.ends_with("deepstream-sgie.sh")), "{pipelines:?}");
    scripts.extend(pipelines);
    for script in &scripts {
        let out = Command::new("bash").arg("-n").arg(script).output().unwrap();
        assert!(out.status.success(), "{}: {}", script.display(), String::from_utf8_lossy(&out.stderr));
        let mode = std::fs::metadata(script).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{} is not executable", script.display());
    }
    // And `bash -n` does catch a syntax error.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.sh"), "if true; then echo\n").unwrap();
    assert!(!Command::new("bash").arg("-n").arg(dir.path().join("bad.sh")).output().unwrap().status.success());
}

#[test]
fn deploy_deepstream_sgie_builds_the_launch_line() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-gst-launch");
    std::fs::write(&fake, "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sgie = dir.path().join("config_infer_secondary_reid.txt");
    std::fs::write(
        &sgie,
        "# header\n[property]\nnetwork-type=100\nprocess-mode=2\ngie-unique-id=2\noutput-tensor-meta=1\n",
    )
    .unwrap();
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(deploy().join("pipelines/deepstream-sgie.sh"));
        cmd.env_remove("SGIE_CONFIG").env_remove("SOURCES").env_remove("CAMERAS").env("GST_LAUNCH", &fake);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let s = sgie.to_str().unwrap();
    let (code, stdout, stderr) = run(&[
        ("SGIE_CONFIG", s),
        ("SOURCES", "file:///data/gate.mp4 rtsp://cam2.local/stream"),
        ("CAMERAS", "0=gate,1=hall"),
        ("DS", "/ds"),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let args: Vec<&str> = stdout.lines().map(|l| l.trim_start_matches('[').trim_end_matches(']')).collect();
    let want = [
        "-e",
        "filesrc",
        "location=/data/gate.mp4",
        "!",
        "qtdemux",
        "!",
        "h264parse",
        "!",
        "nvv4l2decoder",
        "!",
        "m.sink_0",
        "rtspsrc",
        "location=rtsp://cam2.local/stream",
        "latency=200",
        "!",
        "rtph264depay",
        "!",
        "h264parse",
        "!",
        "nvv4l2decoder",
        "!",
        "m.sink_1",
        "nvstreammux",
        "name=m",
        "batch-size=2",
        "width=1920",
        "height=1080",
        "live-source=1",
        "batched-push-timeout=40000",
        "!",
        "nvinfer",
        "config-file-path=/ds/samples/configs/tao_pretrained_models/config_infer_primary_peoplenet.txt",
        "!",
        "nvtracker",
        "ll-lib-file=/ds/lib/libnvds_nvmultiobjecttracker.so",
        "ll-config-file=/ds/samples/configs/deepstream-app/config_tracker_NvDCF_perf.yml",
        "!",
        "nvinfer",
    ];
    assert_eq!(&args[..want.len()], &want[..], "{stdout}");
    let rest: Vec<String> = args[want.len()..].iter().map(|a| a.to_string()).collect();
    assert_eq!(
        rest,
        [
            format!("config-file-path={s}"),
            "!".into(),
            "reidembed".into(),
            "engine=nvinfer".into(),
            "nvinfer-gie-id=2".into(),
            "cameras=0=gate,1=hall".into(),
            "!".into(),
            "reidpublish".into(),
            "connect=tcp/127.0.0.1:7447".into(),
            "skip-empty=true".into(),
            "cameras=0=gate,1=hall".into(),
        ]
    );
    assert!(stderr.contains("SGIE gie-unique-id 2"), "{stderr}");

    // Refusals: no config, a config that is not an SGIE one, a source that is not a URI.
    let (code, _, stderr) = run(&[("SOURCES", "file:///a.mp4")]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("SGIE_CONFIG"), "{stderr}");
    let (code, _, stderr) = run(&[("SGIE_CONFIG", "/nonexistent.txt"), ("SOURCES", "file:///a.mp4")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no such file"), "{stderr}");
    let pgie = dir.path().join("pgie.txt");
    std::fs::write(&pgie, "[property]\nnetwork-type=0\nprocess-mode=1\n").unwrap();
    let (code, _, stderr) = run(&[("SGIE_CONFIG", pgie.to_str().unwrap()), ("SOURCES", "file:///a.mp4")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("lacks network-type=100"), "{stderr}");
    let (code, _, stderr) = run(&[("SGIE_CONFIG", s), ("SOURCES", "/data/a.mp4")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/data/a.mp4 is not a file:// or rtsp:// URI"), "{stderr}");
}

/// The shipped gallery unit, run as systemd would (its credentials folder `%d` standing for the site folder that
/// `reid gallery certs` made, `$REID_GALLERY_ARGS` from the shipped gallery.env), serves mutual TLS: the admin
/// certificate enrols, a camera's cannot, plaintext reaches nothing.
#[cfg(feature = "gallery")]
#[test]
fn deploy_gallery_unit_serves_mutual_tls_with_the_site_certificates() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let reid = env!("CARGO_BIN_EXE_reid");
    let out = Command::new(reid)
        .args(["gallery", "certs", "--out", site.to_str().unwrap(), "--site", "test", "--clients", "admin,cam1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unit = std::fs::read_to_string(deploy().join("systemd/reid-gallery.service")).unwrap();
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    let env = std::fs::read_to_string(deploy().join("etc/gallery.env")).unwrap();
    let args = env.lines().find_map(|l| l.strip_prefix("REID_GALLERY_ARGS=")).unwrap();
    // Every credential the unit loads exists in the site folder under the name the unit gives it.
    for line in unit.lines().filter_map(|l| l.strip_prefix("LoadCredential=")) {
        let (name, source) = line.split_once(':').unwrap();
        let file = source.strip_prefix("/etc/reid/site/").unwrap_or_else(|| panic!("{source}: not in the site"));
        assert_eq!(name, file, "the credential is the site file of the same name");
        assert!(site.join(file).exists(), "{file} not made by reid gallery certs");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let line = exec
        .replace("$REID_GALLERY_ARGS", args)
        .replace("%d", site.to_str().unwrap())
        .replace("/etc/reid/site", site.to_str().unwrap())
        .replace("/var/lib/reid", dir.path().to_str().unwrap())
        .replace("tls/0.0.0.0:7447", &format!("tls/127.0.0.1:{port}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "/opt/reid/bin/reid");
    let mut child = Command::new(reid)
        .args(&words[1..])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok).any(|l| l == "ready");
    let client = |name: &str, cmd: &[&str], endpoint: &str| -> (bool, String) {
        let s = |f: &str| site.join(f).to_str().unwrap().to_owned();
        let out = Command::new(reid)
            .arg("gallery")
            .args(cmd)
            .args(["--timeout", "2", "--connect", endpoint])
            .args(["--tls-ca", &s("ca.pem"), "--tls-cert", &s(&format!("{name}.pem")), "--tls-key"])
            .arg(s(&format!("{name}.key")))
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let request = dir.path().join("enrol.json");
    std::fs::write(&request, format!(r#"{{"items":[{{"embedding":{:?},"identity":"alice"}}]}}"#, vec![0.5f32; 256]))
        .unwrap();
    let tls = format!("tls/127.0.0.1:{port}");
    let admin = if ready {
        client("admin", &["enroll", "--request", request.to_str().unwrap()], &tls)
    } else {
        (false, String::new())
    };
    let camera = client("cam1", &["enroll", "--request", request.to_str().unwrap()], &tls);
    let stats = client("cam1", &["stats"], &tls);
    let plain = Command::new(reid)
        .args(["gallery", "stats", "--timeout", "1", "--connect", &format!("tcp/127.0.0.1:{port}")])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "the unit's command line did not start: {line}");
    assert!(admin.0 && admin.1.contains("enrolled 1"), "{}", admin.1);
    assert!(!camera.0 && camera.1.contains("access rules"), "{}", camera.1);
    assert!(stats.0 && stats.1.contains("\"embeddings\":1"), "{}", stats.1);
    assert!(!plain.status.success());
}
