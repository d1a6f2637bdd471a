//! The request path without the network: route + validate + render, as
//! `server.rs` calls it for every request.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http::request::Parts;
use http::Method;
use specmock::internal::sources::Sources;
use specmock::internal::{App, Behaviour};

/// The shipped spec, fixtures and scenarios, as `cargo run --release` serves
/// them; or (`spec_alone`) as `--spec openapi.yaml` does: no fixtures, no scenarios.
fn shipped_app(spec_alone: bool) -> App {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = spec_alone.then(|| root.join("openapi.yaml"));
    let sources = Sources::resolve(spec, None, None, &root);
    let inputs = sources.inputs(None, 0).expect("the shipped files load");
    App::build(inputs, Behaviour::default())
        .expect("the shipped files build")
        .0
}

fn parts(method: &str, path: &str, content_type: Option<&str>) -> Parts {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(()).expect("a valid request").into_parts().0
}

fn hot_path(c: &mut Criterion) {
    let app = shipped_app(false);
    let spec_alone = shipped_app(true);
    let profile = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/user-signed-in.json"))
        .expect("the full profile fixture exists");

    let mut group = c.benchmark_group("handle");
    let get_user = parts("GET", "/user", None);
    group.bench_function("GET /user", |b| b.iter(|| app.handle(&get_user, &[])));

    let update = parts("POST", "/user/update", Some("application/json"));
    group.throughput(Throughput::Bytes(profile.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("POST /user/update", "full profile"),
        &profile,
        |b, body| b.iter(|| app.handle(&update, body)),
    );
    // What the scenario adds to the request path (store, render, answer):
    // the same request answered from the spec's pre-rendered default.
    group.bench_with_input(
        BenchmarkId::new("POST /user/update, spec alone", "full profile"),
        &profile,
        |b, body| b.iter(|| spec_alone.handle(&update, body)),
    );
    let invalid = br#"{"id": 5, "aesthetics": {"theme": {}}}"#;
    group.bench_function("POST /user/update (3 violations)", |b| {
        b.iter(|| app.handle(&update, invalid))
    });
    let unknown = parts("GET", "/usr/profile", None);
    group.bench_function("GET unknown path (404 + closest)", |b| {
        b.iter(|| app.handle(&unknown, &[]))
    });
    group.finish();
}

/// Routing alone, for the shipped spec and for it served beside the Pieces
/// connect spec: what each request pays to find its operation.
fn route(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let load = |specs: &[&str]| {
        Sources::resolve(specs.iter().map(|spec| root.join(spec)), None, None, &root)
            .load_spec()
            .expect("the shipped specs load")
            .router
    };
    let one = load(&["openapi.yaml"]);
    let two = load(&["openapi.yaml", "specs/pieces-connect.yaml"]);
    let mut group = c.benchmark_group("route");
    group.bench_function("one spec, GET /user/beta/status", |b| {
        b.iter(|| one.find(&Method::GET, "/user/beta/status"))
    });
    group.bench_function("two specs, GET /user/beta/status", |b| {
        b.iter(|| two.find(&Method::GET, "/user/beta/status"))
    });
    group.bench_function("two specs, GET /models", |b| {
        b.iter(|| two.find(&Method::GET, "/models"))
    });
    group.finish();
}

criterion_group!(benches, hot_path, route);
criterion_main!(benches);
