//! Method + path -> operation. Concrete paths win over templated ones, as
//! OpenAPI requires (`/users/me` before `/users/{id}`). Several specs served
//! together each have a mount: their templates under their own base paths.

use http::Method;

/// What routing a request found.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// The operation index and the raw (still percent-encoded) path parameters.
    Found {
        /// The index of the operation in the spec.
        operation: usize,
        /// The path parameters by name, still percent-encoded.
        params: Vec<(String, String)>,
    },
    /// The path exists, the method does not.
    MethodNotAllowed {
        /// The methods the path does declare, for the problem and its `Allow` header.
        allowed: Vec<Method>,
    },
    /// No path matched; the templates closest to what was asked.
    NotFound {
        /// Path templates close to the one asked for, to suggest in the problem.
        closest: Vec<String>,
    },
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    /// `{name}`, possibly with text around it in the same segment (`{id}.json`).
    Param {
        prefix: String,
        name: String,
        suffix: String,
    },
}

#[derive(Debug)]
struct Route {
    /// Which mount's base paths the template sits under.
    mount: usize,
    template: String,
    segments: Vec<Segment>,
    literal_count: usize,
    methods: Vec<(Method, usize)>,
}

/// One spec's base paths (`/api/v1`, from its server URLs), longest first,
/// each with its number of segments.
#[derive(Debug, Default)]
struct Mount {
    base_paths: Vec<(String, usize)>,
    /// No server (or one without a path): the root is a base path too.
    at_root: bool,
}

#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
    mounts: Vec<Mount>,
}

/// How well a route fits a request, best highest: a spec's path found
/// under that spec's own base path (or a spec without one) beats one found
/// only on the full path, then the more literal segments (the base path's
/// included), so the most specific spec answers; a tie goes to the spec
/// named first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    under_base: bool,
    literal_segments: usize,
}

/// A request path as one mount sees it: without the base path that
/// prefixes it.
struct View<'p> {
    relative: &'p str,
    /// How many of the full path's segments the base path took.
    base_segments: usize,
    under_base: bool,
}

impl Router {
    /// Templates added from now on sit under `base_paths`: another spec's.
    pub fn mount(&mut self, base_paths: Vec<String>) {
        let at_root = base_paths.is_empty() || base_paths.iter().any(String::is_empty);
        let mut base_paths: Vec<(String, usize)> = base_paths
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|p| {
                let count = split(&p).count();
                (p, count)
            })
            .collect();
        base_paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        base_paths.dedup();
        self.mounts.push(Mount { base_paths, at_root });
    }

    /// A template (and method) of the spec mounted last.
    pub fn add(&mut self, template: &str, method: Method, operation: usize) {
        let mount = self
            .mounts
            .len()
            .checked_sub(1)
            .expect("a spec is mounted before its templates");
        if let Some(route) = self
            .routes
            .iter_mut()
            .find(|r| r.mount == mount && r.template == template)
        {
            route.methods.push((method, operation));
            return;
        }
        let segments: Vec<Segment> = split(template).map(parse_segment).collect();
        let literal_count = segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
        self.routes.push(Route {
            mount,
            template: template.to_string(),
            segments,
            literal_count,
            methods: vec![(method, operation)],
        });
        // Most literal segments first, so concrete paths shadow templates.
        self.routes.sort_by_key(|r| std::cmp::Reverse(r.literal_count));
    }

    pub fn templates(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|r| r.template.as_str())
    }

    /// The best-ranked route that takes `method` answers; HEAD falls back
    /// to GET only where no route takes HEAD itself.
    pub fn find(&self, method: &Method, path: &str) -> RouteMatch {
        // Split once: a base path ends at a `/`, so each mount's segments
        // are a suffix of these.
        let segments: Vec<&str> = split(path).collect();
        let mut exact: Option<(Rank, &Route, usize)> = None;
        let mut as_get: Option<(Rank, &Route, usize)> = None;
        let mut path_exists = false;
        for route in &self.routes {
            let Some(rank) = self.rank(route, path, &segments) else {
                continue;
            };
            path_exists = true;
            let better = |best: &Option<(Rank, &Route, usize)>| best.is_none_or(|(at, _, _)| rank > at);
            if let Some(operation) = route.operation(method) {
                if better(&exact) {
                    exact = Some((rank, route, operation));
                }
                // With one spec, routes come most specific first.
                if self.mounts.len() == 1 {
                    break;
                }
            } else if *method == Method::HEAD {
                if let Some(operation) = route.operation(&Method::GET).filter(|_| better(&as_get)) {
                    as_get = Some((rank, route, operation));
                }
            }
        }
        if let Some((_, route, operation)) = exact.or(as_get) {
            let view = self.view(route.mount, path);
            return RouteMatch::Found {
                operation,
                params: capture(&route.segments, relative_segments(&segments, &view)),
            };
        }
        match path_exists {
            true => RouteMatch::MethodNotAllowed {
                allowed: self.allowed_methods(path, &segments),
            },
            false => RouteMatch::NotFound {
                closest: self.closest(path),
            },
        }
    }

    /// The methods any route matching `path` takes, if one matches (for
    /// CORS preflight).
    pub fn methods_at(&self, path: &str) -> Option<Vec<Method>> {
        let segments: Vec<&str> = split(path).collect();
        let allowed = self.allowed_methods(path, &segments);
        (!allowed.is_empty()).then_some(allowed)
    }

    /// Every method of every route matching the path, once each: a method
    /// is listed exactly when a request with it would be answered.
    fn allowed_methods(&self, path: &str, segments: &[&str]) -> Vec<Method> {
        let mut allowed = Vec::new();
        for route in self.routes.iter().filter(|r| self.rank(r, path, segments).is_some()) {
            for method in route.allowed_methods() {
                if !allowed.contains(&method) {
                    allowed.push(method);
                }
            }
        }
        allowed
    }

    /// How well `route` fits the request, if it matches at all.
    fn rank(&self, route: &Route, path: &str, segments: &[&str]) -> Option<Rank> {
        let view = self.view(route.mount, path);
        matches(&route.segments, relative_segments(segments, &view)).then_some(Rank {
            under_base: view.under_base,
            literal_segments: view.base_segments + route.literal_count,
        })
    }

    /// `path` as `mount` sees it: without the longest of its base paths
    /// that ends at a `/` of the path, else whole (the fall-back, as with
    /// one spec: a spec's paths answer without its base path too).
    fn view<'p>(&self, mount: usize, path: &'p str) -> View<'p> {
        let mount = &self.mounts[mount];
        let stripped = mount.base_paths.iter().find_map(|(base, count)| {
            path.strip_prefix(base.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                .map(|rest| (rest, *count))
        });
        match stripped {
            Some((relative, base_segments)) => View {
                relative,
                base_segments,
                under_base: true,
            },
            None => View {
                relative: path,
                base_segments: 0,
                under_base: mount.at_root,
            },
        }
    }

    fn closest(&self, path: &str) -> Vec<String> {
        let segments: Vec<&str> = split(path).collect();
        let mut scored: Vec<(usize, &str)> = self
            .routes
            .iter()
            .map(|route| {
                let view = self.view(route.mount, path);
                // Compare against the template with its parameters filled from the
                // request, so `/user/42/x` is close to `/user/{id}/y`.
                let filled = fill_template(&route.segments, relative_segments(&segments, &view));
                (
                    strsim::levenshtein(start_of(view.relative), start_of(&filled)),
                    route.template.as_str(),
                )
            })
            .collect();
        scored.sort();
        // The same template under two mounts is one suggestion, at its closest.
        let mut seen = std::collections::HashSet::new();
        scored
            .into_iter()
            .filter(|(_, template)| seen.insert(*template))
            .take(3)
            .map(|(_, template)| template.to_string())
            .collect()
    }
}

/// The request's segments below the view's base path; a path that is the
/// base path alone is the root, `/`.
fn relative_segments<'s, 'p>(segments: &'s [&'p str], view: &View) -> &'s [&'p str] {
    match &segments[view.base_segments..] {
        [] => &[""],
        rest => rest,
    }
}

/// A path template parsed, to tell whether another takes the same requests.
pub struct Template(Vec<Segment>);

impl Template {
    pub fn of(template: &str) -> Self {
        Self(split(template).map(parse_segment).collect())
    }

    /// Whether some request path matches both templates with as many
    /// literal segments: the router could not tell which one is meant.
    pub fn ties_with(&self, other: &Template) -> bool {
        let literals = |t: &Template| t.0.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
        self.0.len() == other.0.len()
            && literals(self) == literals(other)
            && self.0.iter().zip(&other.0).all(|(a, b)| segments_meet(a, b))
    }
}

/// Whether some request segment fits both template segments.
fn segments_meet(a: &Segment, b: &Segment) -> bool {
    match (a, b) {
        (Segment::Literal(a), Segment::Literal(b)) => a == b,
        (Segment::Literal(literal), param) | (param, Segment::Literal(literal)) => fit(param, literal).is_some(),
        (
            Segment::Param { prefix, suffix, .. },
            Segment::Param {
                prefix: other_prefix,
                suffix: other_suffix,
                ..
            },
        ) => {
            (prefix.starts_with(other_prefix.as_str()) || other_prefix.starts_with(prefix.as_str()))
                && (suffix.ends_with(other_suffix.as_str()) || other_suffix.ends_with(suffix.as_str()))
        }
    }
}

/// Levenshtein costs the product of both lengths, and a filled template holds
/// the request's own segments: suggestions compare only the paths' starts
/// (no template comes near this long), so a 64 KiB path costs no more than a short one.
const COMPARED_CHARS: usize = 256;

fn start_of(text: &str) -> &str {
    text.char_indices()
        .nth(COMPARED_CHARS)
        .map_or(text, |(end, _)| &text[..end])
}

impl Route {
    fn operation(&self, method: &Method) -> Option<usize> {
        self.methods.iter().find(|(m, _)| m == method).map(|(_, op)| *op)
    }

    /// RFC 9110: HEAD is GET without the body, wherever GET exists.
    fn allowed_methods(&self) -> Vec<Method> {
        let mut methods: Vec<Method> = self.methods.iter().map(|(m, _)| m.clone()).collect();
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        methods
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

fn parse_segment(raw: &str) -> Segment {
    if let (Some(open), Some(close)) = (raw.find('{'), raw.rfind('}')) {
        if open < close {
            return Segment::Param {
                prefix: raw[..open].to_string(),
                name: raw[open + 1..close].to_string(),
                suffix: raw[close + 1..].to_string(),
            };
        }
    }
    Segment::Literal(raw.to_string())
}

/// Whether a request's segment fits a template's: `None` if not, else
/// the parameter's value, if the segment is one.
fn fit<'a>(expected: &Segment, actual: &'a str) -> Option<Option<&'a str>> {
    match expected {
        Segment::Literal(literal) => {
            let fits = literal == actual
                || (actual.contains('%')
                    && crate::uri::decode_component(actual).is_ok_and(|decoded| &decoded == literal));
            fits.then_some(None)
        }
        Segment::Param { prefix, suffix, .. } => {
            let value = actual.strip_prefix(prefix.as_str())?.strip_suffix(suffix.as_str())?;
            (!value.is_empty()).then_some(Some(value))
        }
    }
}

fn matches(template: &[Segment], segments: &[&str]) -> bool {
    template.len() == segments.len() && template.iter().zip(segments).all(|(t, s)| fit(t, s).is_some())
}

/// The path parameters of segments that `matches` the template.
fn capture(template: &[Segment], segments: &[&str]) -> Vec<(String, String)> {
    template
        .iter()
        .zip(segments)
        .filter_map(|(expected, actual)| match (expected, fit(expected, actual).flatten()) {
            (Segment::Param { name, .. }, Some(value)) => Some((name.clone(), value.to_string())),
            _ => None,
        })
        .collect()
}

fn fill_template(template: &[Segment], segments: &[&str]) -> String {
    let mut out = String::new();
    for (index, segment) in template.iter().enumerate() {
        out.push('/');
        match segment {
            Segment::Literal(literal) => out.push_str(literal),
            Segment::Param { prefix, name, suffix } => {
                out.push_str(prefix);
                match segments.get(index) {
                    Some(actual) if template.len() == segments.len() => out.push_str(actual),
                    _ => out.push_str(&format!("{{{name}}}")),
                }
                out.push_str(suffix);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        let mut router = Router::default();
        router.mount(vec![]);
        router.add("/user", Method::GET, 0);
        router.add("/user/{id}", Method::GET, 1);
        router.add("/user/me", Method::GET, 2);
        router.add("/user/me", Method::POST, 3);
        router.add("/files/{name}.json", Method::GET, 4);
        router
    }

    #[test]
    fn concrete_paths_win_over_templates() {
        assert_eq!(
            router().find(&Method::GET, "/user/me"),
            RouteMatch::Found {
                operation: 2,
                params: vec![]
            }
        );
        assert_eq!(
            router().find(&Method::GET, "/user/42"),
            RouteMatch::Found {
                operation: 1,
                params: vec![("id".into(), "42".into())]
            }
        );
    }

    #[test]
    fn partial_segment_templates_match() {
        assert_eq!(
            router().find(&Method::GET, "/files/a.json"),
            RouteMatch::Found {
                operation: 4,
                params: vec![("name".into(), "a".into())]
            }
        );
        assert!(matches!(
            router().find(&Method::GET, "/files/a.xml"),
            RouteMatch::NotFound { .. }
        ));
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        assert_eq!(
            router().find(&Method::DELETE, "/user/me"),
            RouteMatch::MethodNotAllowed {
                allowed: vec![Method::GET, Method::POST, Method::HEAD]
            }
        );
    }

    #[test]
    fn head_falls_back_to_get() {
        assert_eq!(
            router().find(&Method::HEAD, "/user"),
            RouteMatch::Found {
                operation: 0,
                params: vec![]
            }
        );
    }

    #[test]
    fn unknown_paths_suggest_the_closest_templates() {
        let RouteMatch::NotFound { closest } = router().find(&Method::GET, "/usr") else {
            panic!("expected not found")
        };
        assert_eq!(closest[0], "/user");
    }

    #[test]
    fn each_mount_routes_its_templates_under_its_own_base_paths() {
        let mut router = Router::default();
        router.mount(vec!["/billing".into()]);
        router.add("/health", Method::GET, 0);
        router.add("/items", Method::GET, 1);
        router.mount(vec!["/catalog".into()]);
        router.add("/health", Method::GET, 2);
        router.add("/items", Method::POST, 3);
        let found = |method, path| match router.find(&method, path) {
            RouteMatch::Found { operation, .. } => Some(operation),
            _ => None,
        };
        assert_eq!(found(Method::GET, "/billing/health"), Some(0));
        assert_eq!(found(Method::GET, "/catalog/health"), Some(2));
        assert_eq!(found(Method::POST, "/catalog/items"), Some(3));
        // Without a base path, the first mount's answers first.
        assert_eq!(found(Method::GET, "/health"), Some(0));
        assert_eq!(found(Method::GET, "/catalog/billing/health"), None);
        assert_eq!(
            router.find(&Method::DELETE, "/items"),
            RouteMatch::MethodNotAllowed {
                allowed: vec![Method::GET, Method::HEAD, Method::POST]
            }
        );
        let RouteMatch::NotFound { closest } = router.find(&Method::GET, "/catalog/helth") else {
            panic!("expected not found")
        };
        assert_eq!(closest.iter().filter(|t| *t == "/health").count(), 1, "{closest:?}");
    }

    #[test]
    fn base_paths_from_servers_are_stripped() {
        let mut router = Router::default();
        router.mount(vec!["/api/v1".into()]);
        router.add("/pets", Method::GET, 0);
        assert_eq!(
            router.find(&Method::GET, "/api/v1/pets"),
            RouteMatch::Found {
                operation: 0,
                params: vec![]
            }
        );
        assert_eq!(
            router.find(&Method::GET, "/pets"),
            RouteMatch::Found {
                operation: 0,
                params: vec![]
            }
        );
    }

    /// A spec: its base paths, and its templates with a method each.
    type Mounted<'a> = (&'a [&'a str], &'a [(&'a str, Method)]);

    /// The specs' routes; operation `10 * spec + n` is the spec's n-th template.
    fn mounted(specs: &[Mounted]) -> Router {
        let mut router = Router::default();
        for (spec, (base_paths, templates)) in specs.iter().enumerate() {
            router.mount(base_paths.iter().map(|b| b.to_string()).collect());
            for (n, (template, method)) in templates.iter().enumerate() {
                router.add(template, method.clone(), 10 * spec + n);
            }
        }
        router
    }

    fn found(router: &Router, method: Method, path: &str) -> Option<usize> {
        match router.find(&method, path) {
            RouteMatch::Found { operation, .. } => Some(operation),
            _ => None,
        }
    }

    #[test]
    fn a_spec_matched_under_its_own_base_path_beats_one_matched_by_its_full_path() {
        let billing: Mounted = (&["/billing"], &[("/health", Method::GET)]);
        let root: Mounted = (&[], &[("/health", Method::GET)]);
        assert_eq!(found(&mounted(&[billing, root]), Method::GET, "/health"), Some(10));
        assert_eq!(found(&mounted(&[root, billing]), Method::GET, "/health"), Some(0));
        assert_eq!(
            found(&mounted(&[billing, root]), Method::GET, "/billing/health"),
            Some(0)
        );
    }

    #[test]
    fn a_base_paths_segments_count_as_literal_ones() {
        let api: Mounted = (&["/api"], &[("/{version}/status", Method::GET)]);
        let v2: Mounted = (&["/api/v2"], &[("/status", Method::GET)]);
        assert_eq!(found(&mounted(&[api, v2]), Method::GET, "/api/v2/status"), Some(10));
        assert_eq!(found(&mounted(&[api, v2]), Method::GET, "/api/v3/status"), Some(0));
        let tenants: Mounted = (&[], &[("/{tenant}/items", Method::GET)]);
        let catalog: Mounted = (&["/catalog"], &[("/items", Method::GET)]);
        assert_eq!(
            found(&mounted(&[tenants, catalog]), Method::GET, "/catalog/items"),
            Some(10)
        );
        assert_eq!(
            found(&mounted(&[catalog, tenants]), Method::GET, "/catalog/items"),
            Some(0)
        );
        assert_eq!(
            found(&mounted(&[tenants, catalog]), Method::GET, "/shop/items"),
            Some(0)
        );
    }

    #[test]
    fn a_head_one_spec_declares_is_not_hidden_by_another_specs_get() {
        let get: Mounted = (&[], &[("/x", Method::GET)]);
        let head: Mounted = (&[], &[("/x", Method::HEAD)]);
        assert_eq!(found(&mounted(&[get, head]), Method::HEAD, "/x"), Some(10));
        assert_eq!(found(&mounted(&[get, head]), Method::GET, "/x"), Some(0));
        assert_eq!(found(&mounted(&[get]), Method::HEAD, "/x"), Some(0));
    }

    #[test]
    fn allowed_methods_are_those_of_every_template_the_path_matches() {
        let get: Mounted = (&[], &[("/a/{x}", Method::GET)]);
        let delete: Mounted = (&[], &[("/a/{y}", Method::DELETE)]);
        let router = mounted(&[get, delete]);
        assert_eq!(found(&router, Method::DELETE, "/a/1"), Some(10));
        let everything = vec![Method::GET, Method::HEAD, Method::DELETE];
        assert_eq!(
            router.find(&Method::PUT, "/a/1"),
            RouteMatch::MethodNotAllowed {
                allowed: everything.clone()
            }
        );
        assert_eq!(router.methods_at("/a/1"), Some(everything));
        assert_eq!(router.methods_at("/b"), None);
    }
}
