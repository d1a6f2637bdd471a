//! Faults of the mock's own environment — its input files changed or removed
//! while it runs, a report it cannot write, an address it cannot bind — and
//! its security boundaries: which files a reference can reach, what templates
//! can read, which peers may use the admin API, and how much input a parser
//! accepts. Against the real binary wherever a process, a socket or a file
//! system is part of the fault.

mod common;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use http::Method;
use serde_json::json;
use specmock::internal::scenario::ScenarioSource;

/// The summary line the binary writes last, once it has stopped serving.
const SUMMARY: &str = "broke the contract";

/// What on stderr would call for an operator's attention: a warning, an error, a panic.
const ALARMS: [&str; 3] = [" WARN ", " ERROR ", "panicked"];

/// A vanity-name update that breaks the contract (`vanityname` is a string).
const BROKEN_VANITY: &str = r#"{"vanityname": 5}"#;

fn vanity_update(name: &str) -> String {
    json!({
        "id": "user-1",
        "aesthetics": { "theme": { "dark": true }, "font": { "size": 12 } },
        "vanityname": name
    })
    .to_string()
}

async fn post_in_session(addr: SocketAddr, session: &str, extra: &[(&str, &str)], path: &str, body: &str) -> Reply {
    let mut headers = in_session(session, &[("content-type", "application/json")]);
    headers.extend_from_slice(extra);
    send(addr, Method::POST, path, &headers, body.as_bytes()).await
}

/// Stops the binary with SIGTERM and returns its exit code and everything it
/// wrote on stderr.
fn stop(binary: &mut Binary) -> (Option<i32>, String) {
    binary.terminate();
    let code = binary.wait_exit();
    (code, binary.stderr_once(SUMMARY))
}

/// Asserts a start-up refusal: exit code 2, no listening line, and a first
/// stderr line `error: LABEL:LINE:COLUMN: ...`; returns that line.
fn assert_refused_at_position(code: Option<i32>, stdout: &str, stderr: &str, label: &str) -> String {
    assert_eq!(code, Some(2), "exit code; stderr:\n{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stderr.lines().next().unwrap_or_default();
    let position = line
        .strip_prefix(&format!("error: {label}:"))
        .unwrap_or_else(|| panic!("the error does not start by naming {label}:\n{stderr}"));
    let numbers: Vec<&str> = position.splitn(3, ':').take(2).collect();
    assert!(
        numbers.len() == 2 && numbers.iter().all(|n| n.parse::<u64>().is_ok_and(|n| n > 0)),
        "no line and column after {label}:\n{stderr}"
    );
    line.to_string()
}

// ---------------------------------------------------------------------------
// 1. Inputs changed or removed while the mock runs: there is no reload
// ---------------------------------------------------------------------------

/// The shipped spec, fixtures and scenarios copied into `dir`, where the
/// binary started with no flags picks them up.
fn copy_shipped_inputs(dir: &TempDir) {
    let root = repo_root();
    std::fs::copy(root.join("openapi.yaml"), dir.path().join("openapi.yaml")).expect("copy the spec");
    for directory in ["fixtures", "scenarios"] {
        std::fs::create_dir(dir.path().join(directory)).expect("create a directory");
        for entry in std::fs::read_dir(root.join(directory)).expect("list the shipped files") {
            let from = entry.expect("a directory entry").path();
            let to = dir.path().join(directory).join(from.file_name().expect("a file name"));
            std::fs::copy(&from, to).expect("copy a shipped file");
        }
    }
}

#[tokio::test]
async fn inputs_broken_or_removed_while_running_change_nothing_until_a_restart_names_them() {
    let dir = TempDir::new("garbage-while-running");
    copy_shipped_inputs(&dir);
    let mut binary = Binary::start(&["--port", "0"], dir.path());
    let addr = binary.addr;
    let user = |session: &'static str| async move {
        let reply = send(addr, Method::GET, "/user", &in_session(session, &[]), b"").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    };
    let served_before = user("before").await;

    // What an editor saving half a file, or a checkout of another branch, does
    // to a running mock. In load order: the first broken file stops a restart.
    let broken = [
        ("openapi.yaml", "openapi: 3.0.3\ninfo: [unclosed\n"),
        ("fixtures/user-minimal.json", r#"{"id": "#),
        ("scenarios/default.yaml", "rules:\n  - when: { operation: [\n"),
    ];
    let originals: Vec<String> = broken
        .iter()
        .map(|(file, _)| std::fs::read_to_string(dir.path().join(file)).expect("read a copied file"))
        .collect();
    for (file, garbage) in broken {
        dir.write(file, garbage);
    }
    for removed in ["fixtures/user-signed-in.json", "scenarios/vanity-taken.yaml"] {
        std::fs::remove_file(dir.path().join(removed)).expect("remove a copied file");
    }

    assert_eq!(
        user("after").await,
        served_before,
        "the removed fixture and the broken scenario still answer"
    );
    let taken = post_in_session(
        addr,
        "after",
        &[("x-mock-scenario", "vanity-taken")],
        "/user/update/vanity",
        &vanity_update("mark"),
    )
    .await;
    assert_eq!(
        taken.status,
        409,
        "the removed scenario is still loaded: {}",
        taken.text()
    );
    let (code, stderr) = stop(&mut binary);
    assert_eq!(code, Some(0), "{stderr}");
    for alarm in ALARMS {
        assert!(
            !stderr.contains(alarm),
            "nothing watches the files, so nothing is said:\n{stderr}"
        );
    }

    for ((file, _), original) in broken.iter().zip(originals) {
        let (code, stdout, stderr) = run_to_exit(&["--port", "0"], dir.path());
        // Found in the working directory: named relative to it, never by where it sits.
        assert_refused_at_position(code, &stdout, &stderr, file);
        dir.write(file, &original);
    }
}

// ---------------------------------------------------------------------------
// 2. A report that cannot be written at shutdown
// ---------------------------------------------------------------------------

/// Serves with `--report report` (and `extra` flags), sends one request that
/// breaks the contract, lets `sabotage` act on the file system, stops the
/// server and returns its exit code and stderr.
async fn serve_then_report(report: &Path, extra: &[&str], sabotage: impl FnOnce()) -> (Option<i32>, String) {
    let dir = TempDir::new("report-fault");
    let report = report.display().to_string();
    let mut args = vec!["--port", "0", "--report", &report];
    args.extend_from_slice(extra);
    let mut binary = Binary::start(&args, dir.path());
    let broken = post_in_session(binary.addr, "r", &[], "/user/update/vanity", BROKEN_VANITY).await;
    assert_eq!(broken.status, 400, "{}", broken.text());
    sabotage();
    stop(&mut binary)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_report_on_a_full_disk_exits_2_naming_the_file_and_the_os_error() {
    let (code, stderr) = serve_then_report(Path::new("/dev/full"), &[], || {}).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("error: cannot write the report to /dev/full: No space left on device"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 broke the contract"),
        "the summary comes first: {stderr}"
    );
}

#[tokio::test]
async fn a_report_directory_removed_during_the_run_exits_2_naming_the_file() {
    let dir = TempDir::new("report-dir-removed");
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).expect("create the report directory");
    let report = reports.join("contract.xml");
    let (code, stderr) = serve_then_report(&report, &[], || {
        std::fs::remove_dir(&reports).expect("remove the report directory");
    })
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot write the report to {}: No such file or directory",
            report.display()
        )),
        "{stderr}"
    );
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_report_that_cannot_be_written_still_leaves_the_violations_on_stderr() {
    let (code, stderr) = serve_then_report(Path::new("/dev/full"), &["--fail-on-violation"], || {}).await;
    assert_eq!(code, Some(2), "the unwritable report is the graver failure: {stderr}");
    assert!(stderr.contains("user-update-vanity: 1 of 1 calls"), "{stderr}");
}

// ---------------------------------------------------------------------------
// 3. An address that cannot be bound
// ---------------------------------------------------------------------------

#[test]
fn bind_failures_exit_2_with_one_line_naming_the_address() {
    let dir = TempDir::new("bind-failures");
    let taken = TcpListener::bind("0.0.0.0:0").expect("bind every interface");
    let taken_port = taken.local_addr().expect("an address").port().to_string();
    // A documentation address (RFC 5737): no interface of a test machine has it.
    let cases = [
        ("0.0.0.0", taken_port.as_str(), "already in use"),
        ("198.51.100.1", "0", "no local interface has that address"),
    ];
    for (host, port, why) in cases {
        let (code, stdout, stderr) = run_to_exit(&["--host", host, "--port", port], dir.path());
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line:\n{stderr}");
        assert!(
            lines[0].starts_with(&format!("error: cannot listen on {host}:{port}: ")) && lines[0].contains(why),
            "{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------
// 4. References that try to leave their directory
// ---------------------------------------------------------------------------

/// A directory with the shipped fixtures in `fixtures/`, `outside.json` beside
/// them (a valid initial store value, so a reference that reached it would
/// load) and an empty `scenarios/`.
fn fixtures_with_a_neighbour() -> TempDir {
    let dir = TempDir::new("escapes");
    std::fs::create_dir(dir.path().join("fixtures")).expect("create fixtures/");
    std::fs::create_dir(dir.path().join("scenarios")).expect("create scenarios/");
    for name in ["user-minimal.json", "user-signed-in.json"] {
        std::fs::copy(
            repo_root().join("fixtures").join(name),
            dir.path().join("fixtures").join(name),
        )
        .expect("copy a fixture");
    }
    dir.write("outside.json", r#"{"secret": "outside the fixtures directory"}"#);
    dir
}

#[test]
fn scenario_files_name_fixtures_and_parents_so_nothing_outside_is_read() {
    let dir = fixtures_with_a_neighbour();
    let outside = dir.path().join("outside.json").display().to_string();
    let fixture = |name: &str| format!("store:\n  user: {{ fixture: '{name}' }}\n");
    let cases = [
        (fixture("../outside.json"), "2:20: unknown fixture"),
        (fixture(&outside), "2:20: unknown fixture"),
        (fixture(r"..\outside.json"), "2:20: unknown fixture"),
        (fixture("%2e%2e%2foutside.json"), "2:20: unknown fixture"),
        (fixture("./user-minimal.json"), "2:20: unknown fixture"),
        ("extends: '../outside'\n".to_string(), "1:10: unknown scenario"),
        ("extends: /etc/passwd\n".to_string(), "1:10: unknown scenario"),
    ];
    for (text, refusal) in cases {
        dir.write("scenarios/escape.yaml", &text);
        let (code, stdout, stderr) = run_to_exit(
            &["--port", "0", "--fixtures", "fixtures", "--scenarios", "scenarios"],
            dir.path(),
        );
        let error = assert_refused_at_position(code, &stdout, &stderr, "scenarios/escape.yaml");
        assert!(
            error.starts_with(&format!("error: scenarios/escape.yaml:{refusal}")),
            "{text}: {error}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_fixtures_directory_is_refused() {
    let dir = fixtures_with_a_neighbour();
    std::os::unix::fs::symlink("../outside.json", dir.path().join("fixtures/linked.json")).expect("symlink");
    let (code, stdout, stderr) = run_to_exit(&["--port", "0", "--fixtures", "fixtures"], dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains("fixtures/linked.json") && stderr.contains("outside"),
        "{stderr}"
    );
}

/// A spec whose one operation answers `text/plain` described by `media`, a
/// YAML flow mapping (line 12 of the document).
fn spec_with_media(media: &str) -> String {
    format!(
        "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      operationId: a\n      \
         responses:\n        '200':\n          description: ok\n          content:\n            text/plain:\n              \
         {media}\n"
    )
}

#[test]
fn remote_and_absolute_refs_in_the_spec_are_refused_and_nothing_is_fetched() {
    let dir = TempDir::new("spec-refs");
    let schemas = dir.write("schemas.yaml", "S: {type: string}\n").display().to_string();
    let server = TcpListener::bind("127.0.0.1:0").expect("bind a would-be remote server");
    server.set_nonblocking(true).expect("non-blocking");
    let remote = server.local_addr().expect("an address");
    let cases = [
        (
            format!("{{schema: {{$ref: 'http://{remote}/schemas.yaml#/S'}}}}"),
            "is not fetched",
        ),
        (format!("{{schema: {{$ref: 'file://{schemas}#/S'}}}}"), "is not fetched"),
        (
            format!("{{schema: {{type: string}}, examples: {{e: {{externalValue: 'http://{remote}/e.txt'}}}}}}"),
            "is not fetched",
        ),
        (
            format!("{{schema: {{$ref: '//{remote}/schemas.yaml#/S'}}}}"),
            "not an absolute one",
        ),
        (format!("{{schema: {{$ref: '{schemas}#/S'}}}}"), "not an absolute one"),
    ];
    for (media, refusal) in cases {
        dir.write("spec.yaml", &spec_with_media(&media));
        let (code, stdout, stderr) = run_to_exit(&["--port", "0", "--spec", "spec.yaml"], dir.path());
        let error = assert_refused_at_position(code, &stdout, &stderr, "spec.yaml");
        assert!(
            error.starts_with("error: spec.yaml:12:"),
            "the line of the reference: {error}"
        );
        assert!(error.contains(refusal), "{media}: {error}");
    }
    assert!(
        matches!(server.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no connection was attempted"
    );
}

#[test]
fn relative_refs_cannot_leave_the_spec_directory() {
    let dir = TempDir::new("spec-ref-escape");
    std::fs::create_dir(dir.path().join("api")).expect("create api/");
    dir.write("schemas.yaml", "S: {type: string}\n");
    dir.write("secret.txt", "outside the spec directory\n");
    for media in [
        "{schema: {$ref: '../schemas.yaml#/S'}}",
        "{schema: {type: string}, examples: {e: {externalValue: '../secret.txt'}}}",
    ] {
        dir.write("api/spec.yaml", &spec_with_media(media));
        let (code, stdout, stderr) = run_to_exit(&["--port", "0", "--spec", "api/spec.yaml"], dir.path());
        let error = assert_refused_at_position(code, &stdout, &stderr, "api/spec.yaml");
        assert!(error.contains("outside"), "{media}: {error}");
    }
}

// ---------------------------------------------------------------------------
// 5. Templates read the request, the store, the clock and UUIDs only
// ---------------------------------------------------------------------------

#[test]
fn templates_that_name_files_or_the_environment_are_refused_at_load() {
    let cases = [
        "rules:\n  - when: { operation: user-update-vanity }\n    respond: { status: 409, body: { text: \"{{ file('/etc/passwd') }}\" } }\n",
        "rules:\n  - when: { operation: user-snapshot }\n    respond: { status: 200, body: { from: env.HOME } }\n",
        "rules:\n  - when: { operation: user-snapshot }\n    respond: { status: 200, headers: { x-home: \"{{ process.env.HOME }}\" } }\n",
        "rules:\n  - when: { operation: stream-user }\n    stream: [ { send: { text: \"{{ include /etc/passwd }}\" } } ]\n",
    ];
    for text in cases {
        let source = ScenarioSource {
            file_name: "templates.yaml".into(),
            label: "templates.yaml".into(),
            text: text.into(),
        };
        let error = match build_shipped_with_scenarios(vec![source], None) {
            Ok(_) => panic!("loaded:\n{text}"),
            Err(diagnostic) => diagnostic.to_string(),
        };
        assert!(error.starts_with("templates.yaml:3:"), "{error}");
        assert!(error.contains("reads nothing a template can read"), "{error}");
    }
}

#[tokio::test]
async fn template_syntax_a_client_sends_is_stored_and_served_as_text() {
    let scenarios = scenario_sources(&repo_root().join("scenarios"));
    let (app, _) = build_shipped_with_scenarios(scenarios, Some("default")).expect("the shipped scenarios load");
    let server = start(app).await;
    let sent = "{{now}} {{store.user}}";
    let updated = post_in_session(
        server.address(),
        "inject",
        &[],
        "/user/update/vanity",
        &vanity_update(sent),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    let snapshot = send(server.address(), Method::GET, "/user", &in_session("inject", &[]), b"").await;
    assert_eq!(snapshot.json()["user"]["vanityname"], sent);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 6. The admin API beyond loopback
// ---------------------------------------------------------------------------

const EXPOSED_WITHOUT_TOKEN: &str = "bound beyond loopback without --admin-token";

/// The same port reached from this machine's non-loopback address, so the
/// server sees a peer beyond loopback; `None` on a machine with loopback only.
fn from_beyond_loopback(binary: &Binary) -> Option<SocketAddr> {
    let address = non_loopback_address();
    if address.is_none() {
        eprintln!("this machine has no address beyond loopback: the remote peer cannot be tested here");
    }
    address.map(|ip| SocketAddr::new(ip, binary.addr.port()))
}

async fn admin(addr: SocketAddr, headers: &[(&str, &str)]) -> Reply {
    send(addr, Method::GET, "/__mock/scenarios", headers, b"").await
}

#[tokio::test]
async fn bound_to_every_interface_without_a_token_it_warns_and_keeps_the_admin_api_to_loopback() {
    let dir = TempDir::new("exposed-without-token");
    let mut binary = Binary::start(&["--host", "0.0.0.0", "--port", "0"], dir.path());
    let loopback = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), binary.addr.port());
    assert_eq!(admin(loopback, &[]).await.status, 200);
    if let Some(remote) = from_beyond_loopback(&binary) {
        admin(remote, &[]).await.assert_problem(403, "admin-forbidden", "admin");
        assert_eq!(get(remote, "/user").await.status, 200, "the mock itself is exposed");
    }
    let (code, stderr) = stop(&mut binary);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(EXPOSED_WITHOUT_TOKEN), "{stderr}");
}

#[tokio::test]
async fn with_an_admin_token_every_peer_presents_it_and_nothing_warns() {
    let dir = TempDir::new("exposed-with-token");
    // Remote clients name the mock by this machine's address: the operator allows that name.
    let name = non_loopback_address().map_or_else(|| "localhost".to_string(), |ip| ip.to_string());
    let mut binary = Binary::start(
        &[
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--admin-token",
            "s3cret",
            "--admin-host",
            &name,
        ],
        dir.path(),
    );
    if let Some(remote) = from_beyond_loopback(&binary) {
        admin(remote, &[]).await.assert_problem(403, "admin-forbidden", "admin");
        admin(remote, &[("authorization", "Bearer nope")])
            .await
            .assert_problem(403, "admin-forbidden", "admin");
        let allowed = admin(remote, &[("authorization", "Bearer s3cret")]).await;
        assert_eq!(allowed.status, 200, "{}", allowed.text());
    }
    let (code, stderr) = stop(&mut binary);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains(EXPOSED_WITHOUT_TOKEN), "{stderr}");
}

#[tokio::test]
async fn a_loopback_client_of_a_dual_stack_listener_may_use_the_admin_api() {
    let dir = TempDir::new("dual-stack");
    let mut binary = Binary::start(&["--host", "::", "--port", "0"], dir.path());
    let loopback = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), binary.addr.port());
    let reply = admin(loopback, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(stop(&mut binary).0, Some(0));
}

// ---------------------------------------------------------------------------
// 7. Parser budgets: bombs, nesting and size
// ---------------------------------------------------------------------------

/// The address space a refused input may use: ample for the mock (it reserves
/// about 250 MiB), far below what any of these bombs expands to.
const ADDRESS_SPACE_KIB: u64 = 1024 * 1024;

/// A hang detector, not the promptness bound (the budgets and the address
/// space are): a debug build on shared cores takes up to a few seconds to
/// reach a 250,000-node budget; a release build, a fraction of one.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(60);

/// Runs the binary to its exit under `ulimit -v`: a bomb that expanded, or a
/// parser that recursed without end, ends it by a signal (no exit code).
fn run_confined(args: &[&str], cwd: &Path) -> (Option<i32>, String, String) {
    let child = Command::new("sh")
        .args(["-c", r#"ulimit -v "$0" && exec "$@""#, &ADDRESS_SPACE_KIB.to_string()])
        .arg(env!("CARGO_BIN_EXE_specmock"))
        .args(args)
        .env("MALLOC_ARENA_MAX", "2")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn specmock under sh");
    let pid = child.id().to_string();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let Ok(output) = finished.recv_timeout(REFUSAL_DEADLINE) else {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        panic!("specmock {args:?} still ran after {REFUSAL_DEADLINE:?}");
    };
    let output = output.expect("collect the output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes `text` as `file` in a fresh directory, starts the binary on it with
/// `args` and asserts a refusal at a position in `file` that says `breach`.
fn assert_input_refused(args: &[&str], file: &str, text: &str, breach: &str) {
    let dir = TempDir::new("budget");
    if let Some(parent) = Path::new(file).parent() {
        std::fs::create_dir_all(dir.path().join(parent)).expect("create the input's directory");
    }
    dir.write(file, text);
    let (code, stdout, stderr) = run_confined(args, dir.path());
    let error = assert_refused_at_position(code, &stdout, &stderr, file);
    assert!(error.contains(breach), "{file}: expected {breach:?} in {error}");
}

/// Nine aliases of nine aliases, nine levels deep: 9^9 scalars once expanded,
/// from under 1 KB; one mapping entry per level, each line indented by `indent`.
fn billion_laughs(indent: &str) -> String {
    let mut lines = vec![format!("{indent}l0: &l0 [{}]", ["lol"; 9].join(", "))];
    for level in 1..9 {
        let previous = format!("*l{}", level - 1);
        lines.push(format!(
            "{indent}l{level}: &l{level} [{}]",
            vec![previous; 9].join(", ")
        ));
    }
    lines.join("\n") + "\n"
}

/// Far beyond every nesting budget.
const NESTING: usize = 10_000;

fn flow_nesting(levels: usize) -> String {
    "[".repeat(levels) + &"]".repeat(levels)
}

/// A scenario whose rule matches request bodies containing `body`: a field
/// that takes any YAML, so the parser meets all of it. `body` is the block
/// under `body:`, indented by eight spaces.
fn scenario_matching(body: &str) -> String {
    format!("rules:\n  - when:\n      operation: user-snapshot\n      body:\n{body}")
}

#[test]
fn scenario_file_bombs_are_refused_promptly_at_their_position() {
    let block_nesting = format!("        x:\n          {}x\n", "- ".repeat(NESTING));
    let many_nodes = format!("        x: [{}]\n", vec!["1"; 300_000].join(", "));
    let cases = [
        (billion_laughs("        "), "budget breached: Nodes"),
        (
            format!("        x: {}\n", flow_nesting(NESTING)),
            "recursion limit exceeded",
        ),
        (block_nesting, "budget breached: Depth"),
        (many_nodes, "budget breached: Nodes"),
    ];
    for (body, breach) in cases {
        assert_input_refused(
            &["--port", "0", "--scenarios", "scenarios"],
            "scenarios/bomb.yaml",
            &scenario_matching(&body),
            breach,
        );
    }
}

#[test]
fn spec_bombs_are_refused_promptly_at_their_position() {
    let head = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n";
    let cases = [
        (
            "spec.yaml",
            format!("{head}x-bomb:\n{}", billion_laughs("  ")),
            // A spec may hold more nodes than a scenario file: the alias expansion breaches first.
            "budget breached: RecordedAnchorEvents",
        ),
        (
            "spec.yaml",
            format!("{head}x-bomb:\n  {}x\n", "- ".repeat(NESTING)),
            "budget breached: Depth",
        ),
        (
            "spec.json",
            format!(
                r#"{{"openapi": "3.0.3", "info": {{"title": "t", "version": "1"}}, "paths": {{}}, "x-bomb": {}}}"#,
                flow_nesting(NESTING)
            ),
            "recursion limit exceeded",
        ),
    ];
    for (file, text, breach) in cases {
        assert_input_refused(&["--port", "0", "--spec", file], file, &text, breach);
    }
}

#[test]
fn a_fixture_nested_too_deep_is_refused_promptly_at_its_position() {
    assert_input_refused(
        &["--port", "0", "--fixtures", "fixtures"],
        "fixtures/deep.json",
        &flow_nesting(NESTING),
        "recursion limit exceeded",
    );
}

/// A JSON spec whose `x-big` extension is an array of `count` `item`s.
fn json_spec_with(item: &str, count: usize) -> String {
    format!(
        r#"{{"openapi": "3.0.3", "info": {{"title": "t", "version": "1"}}, "paths": {{}}, "x-big": [{}]}}"#,
        vec![item; count].join(",")
    )
}

#[test]
fn json_inputs_over_their_node_budget_are_refused_promptly_at_their_position() {
    // 3,000,000 nodes (an object, its key and its value, a million times):
    // built whole, far more than the address space allows.
    assert_input_refused(
        &["--port", "0", "--spec", "spec.json"],
        "spec.json",
        &json_spec_with(r#"{"a": 0}"#, 1_000_000),
        "budget breached: more than 2000000 nodes",
    );

    // Beside the shipped inputs, which need their own fixtures.
    let dir = TempDir::new("fixture-budget");
    copy_shipped_inputs(&dir);
    dir.write(
        "fixtures/big.json",
        &format!("[{}]", vec![r#"{"a": 0}"#; 100_000].join(",")),
    );
    let (code, stdout, stderr) = run_confined(&["--port", "0"], dir.path());
    let error = assert_refused_at_position(code, &stdout, &stderr, "fixtures/big.json");
    assert!(error.contains("budget breached: more than 250000 nodes"), "{error}");
}

#[test]
fn a_json_spec_within_its_node_budget_loads() {
    let dir = TempDir::new("large-json");
    dir.write("spec.json", &json_spec_with("0", 1_900_000));
    let mut binary = Binary::start(&["--port", "0", "--spec", "spec.json"], dir.path());
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0), "{}", binary.stderr());
}

#[test]
fn an_error_reached_through_an_alias_keeps_its_whole_message() {
    let dir = TempDir::new("alias-message");
    std::fs::create_dir(dir.path().join("scenarios")).expect("create scenarios/");
    dir.write(
        "scenarios/alias.yaml",
        "description: &code not-a-status\nrules:\n  - when: { operation: user-snapshot }\n    respond: { status: *code }\n",
    );
    let (code, stdout, stderr) = run_to_exit(&["--port", "0", "--scenarios", "scenarios"], dir.path());
    let error = assert_refused_at_position(code, &stdout, &stderr, "scenarios/alias.yaml");
    assert_eq!(error.matches('(').count(), error.matches(')').count(), "{error}");
    assert!(!error.ends_with("(used"), "{error}");
}

// ---------------------------------------------------------------------------
// 8. What clients and logs see of the machine: files are named relative to
//    the spec's directory, never by absolute path
// ---------------------------------------------------------------------------

/// The shipped inputs copied into a directory of their own, plus `extra`
/// files (`(path, text)` relative to it).
fn shipped_copy_with(extra: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new("named-relative");
    copy_shipped_inputs(&dir);
    for (path, text) in extra {
        dir.write(path, text);
    }
    dir
}

/// `--spec`, `--fixtures` and `--scenarios` naming `dir`'s files by absolute path.
fn absolute_args(dir: &TempDir) -> Vec<String> {
    assert!(dir.path().is_absolute(), "{}", dir.path().display());
    let at = |name: &str| dir.path().join(name).display().to_string();
    vec![
        "--spec".into(),
        at("openapi.yaml"),
        "--fixtures".into(),
        at("fixtures"),
        "--scenarios".into(),
        at("scenarios"),
    ]
}

/// A rule whose templated body leaves out the required `id` when the client
/// sends no `X-Id`: the mock's 500 at run time, not a load error.
/// Valid for all `check` can know (a header may hold anything); a string where
/// `aesthetics` wants an object once the request says `x-aesthetics: flat`.
const BROKEN_AT_RUN_TIME: &str = "rules:\n  - when: { operation: refresh-user }\n    respond: { status: 200, body: { fixture: user-signed-in.json, merge: { aesthetics: \"{{request.headers.x-aesthetics}}\" } } }\n";

#[tokio::test]
async fn a_scripted_response_problem_and_its_log_line_name_the_scenario_relative_to_the_spec() {
    let dir = shipped_copy_with(&[("scenarios/broken.yaml", BROKEN_AT_RUN_TIME)]);
    let elsewhere = TempDir::new("elsewhere");
    let mut args = absolute_args(&dir);
    args.extend(["--port".into(), "0".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let binary = Binary::start(&args, elsewhere.path());

    let reply = send(
        binary.addr,
        Method::GET,
        "/user/refresh",
        &[("x-mock-scenario", "broken"), ("x-aesthetics", "flat")],
        b"",
    )
    .await;
    let problem = reply.assert_problem(500, "invalid-scripted-response", "scenario");
    let detail = problem["detail"].as_str().expect("a detail");
    assert!(detail.starts_with("scenarios/broken.yaml rules[0] "), "{detail}");

    let stderr = binary.stderr_once("status=500");
    let line = stderr
        .lines()
        .find(|line| line.contains("status=500"))
        .unwrap_or_else(|| panic!("no log line for the 500:\n{stderr}"));
    assert!(line.contains("rule=\"scenarios/broken.yaml rules[0]\""), "{line}");
    let machine_path = dir.path().display().to_string();
    assert!(!stderr.contains(&machine_path), "{stderr}");
}

#[test]
fn start_up_errors_name_scenario_and_fixture_files_relative_to_the_spec() {
    let elsewhere = TempDir::new("elsewhere");
    let cases = [
        (
            "scenarios/bad.yaml",
            "rules:\n  - when: { operation: no-such-operation }\n    respond: { status: 200 }\n",
        ),
        ("fixtures/user-snapshot.json", "{\"id\": 1,\n"),
    ];
    for (file, text) in cases {
        let dir = shipped_copy_with(&[(file, text)]);
        let args = absolute_args(&dir);
        let mut serve: Vec<&str> = args.iter().map(String::as_str).collect();
        serve.extend(["--port", "0"]);
        let (code, _, stderr) = run_to_exit(&serve, elsewhere.path());
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.starts_with(&format!("error: {file}:")), "{file}: {stderr}");

        // `check` names it the same way.
        let mut check = vec!["check"];
        check.extend(args.iter().map(String::as_str));
        let (_, stdout, stderr) = run_to_exit(&check, elsewhere.path());
        assert!(stdout.contains(&format!("error: {file}:")), "{file}: {stdout}{stderr}");
        let machine_path = dir.path().display().to_string();
        assert!(!stdout.contains(&machine_path), "{stdout}");
    }
}
