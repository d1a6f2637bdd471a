//! Several `--spec`s on one server, against the real binary over real HTTP:
//! each spec routed under its own base path (a 3.0 and a 3.1 document side
//! by side), the claims two specs may not share, scenario rules naming an
//! operation by its spec, `check` and the journal covering both, and a
//! reload of the second spec.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

/// `tests/specs/several`: `billing.yaml` (3.0, under `/billing`) and
/// `catalog.yaml` (3.1, under `/catalog`).
fn several_dir() -> std::path::PathBuf {
    specs_dir().join("several")
}

const BOTH: [&str; 4] = ["--spec", "billing.yaml", "--spec", "catalog.yaml"];

/// The `key` of each journal entry, newest first.
fn of_entries<'j>(journal: &'j Value, key: &str) -> Vec<&'j str> {
    let entries = journal["entries"].as_array().expect("entries");
    entries.iter().filter_map(|entry| entry[key].as_str()).collect()
}

fn start_both(flags: &[&str]) -> Binary {
    Binary::start(&[&BOTH[..], &["--port", "0"], flags].concat(), &several_dir())
}

/// A spec with one operation, `GET PATH` named `ID`, under `BASE`.
fn one_operation(base: &str, path: &str, id: &str) -> String {
    let parameters = path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(name, _)| {
            format!("\n      parameters: [{{name: {name}, in: path, required: true, schema: {{type: string}}}}]")
        });
    let parameters: String = parameters.collect();
    format!(
        "openapi: 3.0.3
info: {{title: t, version: '1'}}
servers:
  - url: http://localhost:4000{base}
paths:
  {path}:
    get:
      operationId: {id}{parameters}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {{type: object}}
"
    )
}

#[tokio::test]
async fn each_spec_is_routed_under_its_own_base_path_and_validated_by_its_own_schemas() {
    let binary = start_both(&["--no-watch"]);
    let addr = binary.addr;

    let invoice = get(addr, "/billing/invoices/inv-1").await;
    assert_eq!(invoice.status, 200, "{}", invoice.text());
    assert_eq!(invoice.json()["total"], 12.5);
    // The 3.1 spec: its `type: [string, 'null']` served as written.
    let items = get(addr, "/catalog/items").await;
    assert_eq!(items.status, 200, "{}", items.text());
    assert_eq!(items.json()[0]["note"], Value::Null);
    assert_eq!(get(addr, "/catalog/health").await.text(), "catalog ok");
    assert_eq!(get(addr, "/billing/health").await.text(), "billing ok");

    // One spec's paths are not found under the other's base path.
    let crossed = get(addr, "/catalog/invoices").await;
    crossed.assert_problem(404, "route-not-found", "router");

    let refused = post_json(addr, "/catalog/items", r#"{"sku":"X"}"#).await;
    let problem = refused.assert_problem(400, "invalid-request", "validator");
    assert_eq!(problem["violations"][0]["rule"], "pattern", "{problem:#}");
    let added = post_json(addr, "/catalog/items", r#"{"sku":"z-9","note":null}"#).await;
    assert_eq!(added.status, 201, "{}", added.text());
}

#[test]
fn the_default_port_is_the_first_specs() {
    let dir = several_dir();
    let both = specmock::internal::sources::Sources::resolve(
        [dir.join("catalog.yaml"), dir.join("billing.yaml")],
        None,
        None,
        &dir,
    );
    assert_eq!(both.load_spec().expect("both load").default_port, Some(4200));
}

#[tokio::test]
async fn the_journal_covers_both() {
    let binary = start_both(&["--no-watch"]);
    let addr = binary.addr;
    get(addr, "/billing/invoices").await;
    get(addr, "/catalog/items").await;
    let journal = get(addr, "/__mock/journal").await.json();
    let operations: Vec<&str> = of_entries(&journal, "operation");
    // Newest first; the bare operationIds, as with one spec.
    assert_eq!(operations, ["listItems", "listInvoices"], "{journal:#}");
}

/// What start-up with `flags` (in `dir`) says, refused.
fn start_up_refused(flags: &[&str], dir: &std::path::Path) -> String {
    let (code, _, stderr) = run_to_exit(flags, dir);
    assert_eq!(code, Some(2), "{stderr}");
    stderr
}

/// What start-up says of `a.yaml` and `b.yaml` served together (in `dir`), refused.
fn refused(dir: &TempDir, a: &str, b: &str) -> String {
    dir.write("a.yaml", a);
    dir.write("b.yaml", b);
    start_up_refused(&["--spec", "a.yaml", "--spec", "b.yaml", "--port", "0"], dir.path())
}

#[test]
fn a_path_and_method_claimed_by_two_specs_names_both_places() {
    let dir = TempDir::new("several-path");
    let a = one_operation("/api", "/things/{id}", "getThing");
    let stderr = refused(&dir, &a, &one_operation("/api", "/things/{name}", "fetchThing"));
    assert!(
        stderr.contains("b.yaml:8:7: `GET /api/things/{}` is declared by two specs"),
        "{stderr}"
    );
    assert!(stderr.contains("also declared at a.yaml:8:7"), "{stderr}");

    // Under different base paths, the same path is two routes.
    dir.write("b.yaml", &one_operation("/other", "/things/{name}", "fetchThing"));
    let binary = Binary::start(&["--spec", "a.yaml", "--spec", "b.yaml", "--port", "0"], dir.path());
    drop(binary);
}

#[test]
fn an_operation_id_declared_by_two_specs_names_both_places() {
    let dir = TempDir::new("several-id");
    let stderr = refused(
        &dir,
        &one_operation("", "/a", "getThing"),
        &one_operation("", "/b", "getThing"),
    );
    assert!(
        stderr.contains("b.yaml:8:20: operationId `getThing` is declared by two specs; also declared at a.yaml:8:20"),
        "{stderr}"
    );
}

#[test]
fn two_specs_of_one_stem_are_refused() {
    let dir = TempDir::new("several-stem");
    std::fs::create_dir(dir.path().join("v2")).expect("v2/");
    dir.write("api.yaml", &one_operation("", "/a", "getA"));
    dir.write("v2/api.yaml", &one_operation("/v2", "/b", "getB"));
    let stderr = start_up_refused(&["--spec", "api.yaml", "--spec", "v2/api.yaml"], dir.path());
    assert!(
        stderr.contains("v2/api.yaml: this spec and api.yaml share the name `api`"),
        "{stderr}"
    );

    let stderr = start_up_refused(&["--spec", "api.yaml", "--spec", "./api.yaml"], dir.path());
    assert!(
        stderr.contains("./api.yaml: this spec is given twice (also as api.yaml): give it once"),
        "{stderr}"
    );
}

/// A scenarios directory holding `file` with `text`, and its path.
fn scenarios_of(label: &str, file: &str, text: &str) -> (TempDir, String) {
    let dir = TempDir::new(label);
    std::fs::create_dir(dir.path().join("scenarios")).expect("scenarios/");
    dir.write(&format!("scenarios/{file}"), text);
    let path = dir.path().join("scenarios").display().to_string();
    (dir, path)
}

#[tokio::test]
async fn scenario_rules_name_an_operation_by_its_spec_or_alone() {
    let (dir, scenarios) = scenarios_of(
        "several-scenario",
        "default.yaml",
        "rules:
  - when: { operation: 'catalog:listItems' }
    respond: { status: 200, body: { json: [{sku: q-1}] } }
  - when: { operation: getInvoice }
    respond: { status: 404 }
",
    );
    let binary = start_both(&["--no-watch", "--scenarios", &scenarios]);
    let items = get(binary.addr, "/catalog/items").await;
    assert_eq!(items.json()[0]["sku"], "q-1", "{}", items.text());
    assert_eq!(get(binary.addr, "/billing/invoices/x").await.status, 404);

    dir.write(
        "scenarios/default.yaml",
        "rules:
  - when: { operation: 'catalgo:listItems' }
    respond: { status: 200 }
  - when: { operation: 'billing:listItems' }
    respond: { status: 200 }
",
    );
    let flags = [&BOTH[..], &["--port", "0", "--scenarios", &scenarios]].concat();
    let stderr = start_up_refused(&flags, &several_dir());
    assert!(
        stderr.contains(
            "default.yaml:2:24: unknown spec `catalgo` in `catalgo:listItems`: expected the file stem of a spec served (known: billing, catalog)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("default.yaml:4:24: unknown operation `listItems` in spec `billing`: expected one of its operationIds or `METHOD /path` (known: listInvoices, getInvoice, billingHealth)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_admin_api_and_scenario_rules_name_an_operation_by_its_spec_and_refuse_a_path_two_specs_declare() {
    let binary = start_both(&["--no-watch"]);
    let addr = binary.addr;
    get(addr, "/billing/health").await;
    get(addr, "/catalog/health").await;
    let journal = get(addr, "/__mock/journal?operation=catalog:catalogHealth").await;
    assert_eq!(journal.status, 200, "{}", journal.text());
    let entries = journal.json()["entries"].as_array().expect("entries").clone();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["operation"], "catalogHealth");
    let verified = post_json(
        addr,
        "/__mock/verify",
        r#"{"operation": "catalog:catalogHealth", "count": 1}"#,
    )
    .await;
    assert_eq!(verified.json()["verified"], true, "{}", verified.text());
    let both =
        "`GET /health` is declared by several specs: name one of `billing:billingHealth`, `catalog:catalogHealth`";
    let ambiguous = get(addr, "/__mock/journal?operation=GET%20/health").await;
    assert_eq!(ambiguous.status, 400, "{}", ambiguous.text());
    assert!(ambiguous.text().contains(both), "{}", ambiguous.text());

    let (_dir, scenarios) = scenarios_of(
        "several-ambiguous",
        "default.yaml",
        "rules:\n  - when: { operation: 'GET /health' }\n    respond: { status: 200 }\n",
    );
    let flags = [&BOTH[..], &["--port", "0", "--scenarios", &scenarios]].concat();
    let stderr = start_up_refused(&flags, &several_dir());
    assert!(stderr.contains(&format!("default.yaml:2:24: {both}")), "{stderr}");
}

#[test]
fn check_covers_every_spec_grouped_by_spec() {
    let dir = TempDir::new("several-check");
    let junit = dir.path().join("check.xml").display().to_string();
    let (code, stdout, stderr) = run_to_exit(&[&["check", "--junit", &junit], &BOTH[..]].concat(), &several_dir());
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(xml.contains("name=\"catalog:addItem 201\""), "{xml}");
    assert!(
        xml.contains("name=\"billing.yaml\"") && xml.contains("name=\"catalog.yaml\""),
        "{xml}"
    );
    let billing = stdout.find("[billing]\nlistInvoices").expect(&stdout);
    let catalog = stdout.find("[catalog]\nlistItems").expect(&stdout);
    assert!(billing < catalog, "{stdout}");
    assert!(
        stdout.contains("addItem        201     spec default (no rule)"),
        "{stdout}"
    );

    let (_, json, _) = run_to_exit(&[&["check", "--format", "json"], &BOTH[..]].concat(), &several_dir());
    let report: Value = serde_json::from_str(&json).expect("JSON");
    let specs: Vec<(&str, &str)> = report["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .map(|pair| (pair["spec"].as_str().unwrap(), pair["operation"].as_str().unwrap()))
        .collect();
    assert!(
        specs.contains(&("catalog", "addItem")) && specs.contains(&("billing", "getInvoice")),
        "{json}"
    );
}

#[tokio::test]
async fn an_edit_of_the_second_spec_is_reloaded() {
    let dir = TempDir::new("several-reload");
    dir.write("a.yaml", &one_operation("/a", "/one", "getOne"));
    dir.write("b.yaml", &one_operation("/b", "/two", "getTwo"));
    let binary = Binary::start(&["--spec", "a.yaml", "--spec", "b.yaml", "--port", "0"], dir.path());
    let addr = binary.addr;
    assert_eq!(get(addr, "/b/two").await.status, 200);
    assert_eq!(get(addr, "/b/three").await.status, 404);

    dir.write("b.yaml", &one_operation("/b", "/three", "getThree"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while get(addr, "/b/three").await.status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "not reloaded: {}",
            binary.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get(addr, "/b/two").await.status, 404);
    assert_eq!(get(addr, "/a/one").await.status, 200);
}

#[tokio::test]
async fn verify_against_a_server_of_both_specs_covers_each_under_its_base_path() {
    let binary = start_both(&["--no-watch"]);
    let junit = TempDir::new("several-verify");
    let junit = junit.path().join("verify.xml").display().to_string();
    let against = format!("http://{}", binary.addr);
    let flags = [&["verify", "--against", &against, "--junit", &junit], &BOTH[..]].concat();
    let (code, stdout, stderr) = run_to_exit(&flags, &several_dir());
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let billing = stdout.find("[billing]\nPASS listInvoices").expect(&stdout);
    let catalog = stdout.find("[catalog]\nPASS listItems").expect(&stdout);
    assert!(billing < catalog, "{stdout}");
    assert!(stdout.contains("PASS addItem"), "{stdout}");
    assert!(stdout.contains("6 operations, 6 requests"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(
        xml.contains("classname=\"Catalog\" name=\"catalog:addItem\"")
            && xml.contains("classname=\"Billing\" name=\"billing:getInvoice\""),
        "{xml}"
    );
}

#[tokio::test]
async fn verify_sends_every_specs_reads_before_any_write_and_groups_only_its_output() {
    let binary = start_both(&["--no-watch"]);
    let against = format!("http://{}", binary.addr);
    // catalog.yaml, named first, has the one write (POST /items).
    let flags = [
        "verify",
        "--against",
        &against,
        "--spec",
        "catalog.yaml",
        "--spec",
        "billing.yaml",
    ];
    let (code, stdout, stderr) = run_to_exit(&flags, &several_dir());
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let catalog = stdout.find("[catalog]\n").expect(&stdout);
    let billing = stdout.find("[billing]\n").expect(&stdout);
    assert!(catalog < billing, "{stdout}");
    assert_eq!(stdout.matches("[catalog]").count(), 1, "{stdout}");
    let journal = get(binary.addr, "/__mock/journal").await.json();
    let methods: Vec<&str> = of_entries(&journal, "method");
    // Newest first: the write was sent last.
    assert_eq!(
        methods.iter().filter(|m| **m != "GET").collect::<Vec<_>>(),
        [&"POST"],
        "{journal:#}"
    );
    assert_eq!(methods[0], "POST", "{journal:#}");
}

#[tokio::test]
async fn verify_sends_under_the_first_server_urls_base_path_even_when_it_has_none() {
    let dir = TempDir::new("several-first-server");
    let first_at_root = one_operation("", "/a", "getA").replace(
        "  - url: http://localhost:4000\n",
        "  - url: http://localhost:4000\n  - url: http://localhost:4000/v2\n",
    );
    dir.write("a.yaml", &first_at_root);
    dir.write("b.yaml", &one_operation("/b", "/b", "getB"));
    let specs = ["--spec", "a.yaml", "--spec", "b.yaml"];
    let binary = Binary::start(&[&specs[..], &["--port", "0"]].concat(), dir.path());
    let against = format!("http://{}", binary.addr);
    let (code, stdout, stderr) = run_to_exit(&[&["verify", "--against", &against], &specs[..]].concat(), dir.path());
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let journal = get(binary.addr, "/__mock/journal").await.json();
    let mut targets: Vec<&str> = of_entries(&journal, "target");
    targets.sort_unstable();
    assert_eq!(targets, ["/a", "/b/b"], "{journal:#}");
}

#[tokio::test]
async fn the_report_names_each_operations_spec() {
    let dir = TempDir::new("several-report");
    let report = dir.path().join("report.xml").display().to_string();
    let mut binary = start_both(&["--no-watch", "--report", &report]);
    get(binary.addr, "/billing/invoices").await;
    get(binary.addr, "/catalog/items").await;
    post_json(binary.addr, "/catalog/items", r#"{"sku":"X"}"#).await;

    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0), "{}", binary.stderr());
    let xml = std::fs::read_to_string(&report).expect("the report");
    // Grouped by spec: catalog's two cases together, not around billing's.
    let billing = xml.find("name=\"billing:listInvoices\"").expect(&xml);
    let add = xml.find("name=\"catalog:addItem\"").expect(&xml);
    let list = xml.find("name=\"catalog:listItems\"").expect(&xml);
    assert!(billing < add && add < list, "{xml}");
    assert!(xml.contains("1 of 1 calls broke the contract"), "{xml}");
}

#[tokio::test]
async fn the_scenario_list_groups_what_each_scenario_reaches_by_spec() {
    let (_dir, scenarios) = scenarios_of(
        "several-list",
        "missing.yaml",
        "rules:
  - when: { operation: 'billing:getInvoice' }
    respond: { status: 404 }
  - when: { operation: addItem }
    respond: { status: 201 }
",
    );
    let binary = start_both(&["--no-watch", "--scenarios", &scenarios]);
    let listed = get(binary.addr, "/__mock/scenarios").await.json();
    let missing = &listed["scenarios"][0];
    assert_eq!(missing["reaches"]["getInvoice"], serde_json::json!([404]), "{listed:#}");
    assert_eq!(
        missing["reaches_by_spec"]["billing"]["getInvoice"],
        serde_json::json!([404]),
        "{listed:#}"
    );
    assert_eq!(
        missing["reaches_by_spec"]["catalog"]["addItem"],
        serde_json::json!([201]),
        "{listed:#}"
    );
}
