//! Method + path -> operation. Concrete paths win over templated ones, as
//! OpenAPI requires (`/users/me` before `/users/{id}`). Several specs served
//! together each have a mount: their templates under their own base paths.

use http::Method;

/// What routing a request found.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// The operation index and the raw (still percent-encoded) path parameters.
    Found {
        operation: usize,
        params: Vec<(String, String)>,
    },
    /// The path exists, the method does not.
    MethodNotAllowed { allowed: Vec<Method> },
    /// No path matched; the templates closest to what was asked.
    NotFound { closest: Vec<String> },
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

#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
    /// Per mount, the path prefixes taken from its spec's server URLs
    /// (`/api/v1`); empty when the servers have no path.
    mounts: Vec<Vec<String>>,
}

impl Router {
    /// A router whose templates sit under `base_paths` (until `mount`).
    pub fn new(base_paths: Vec<String>) -> Self {
        let mut router = Self::default();
        router.mount(base_paths);
        router
    }

    /// Templates added from now on sit under `base_paths`: another spec's.
    pub fn mount(&mut self, base_paths: Vec<String>) {
        let mut base_paths: Vec<String> = base_paths.into_iter().filter(|p| !p.is_empty()).collect();
        base_paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
        base_paths.dedup();
        self.mounts.push(base_paths);
    }

    pub fn add(&mut self, template: &str, method: Method, operation: usize) {
        if self.mounts.is_empty() {
            self.mounts.push(Vec::new());
        }
        let mount = self.mounts.len() - 1;
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

    pub fn find(&self, method: &Method, path: &str) -> RouteMatch {
        let relative = self.relative(path);
        let mut path_exists: Vec<&Route> = Vec::new();
        for route in &self.routes {
            let Some(params) = match_segments(&route.segments, &relative[route.mount].1) else {
                continue;
            };
            if let Some(operation) = route.operation_for(method) {
                return RouteMatch::Found { operation, params };
            }
            path_exists.push(route);
        }
        match allowed_methods(&path_exists) {
            Some(allowed) => RouteMatch::MethodNotAllowed { allowed },
            None => RouteMatch::NotFound {
                closest: self.closest(&relative),
            },
        }
    }

    /// The allowed methods of the route matching `path`, if any (for CORS preflight).
    pub fn methods_at(&self, path: &str) -> Option<Vec<Method>> {
        let relative = self.relative(path);
        let matching: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| match_segments(&r.segments, &relative[r.mount].1).is_some())
            .collect();
        allowed_methods(&matching)
    }

    /// `path` as each mount sees it, without that mount's base path, and split.
    fn relative<'p>(&self, path: &'p str) -> Vec<(&'p str, Vec<&'p str>)> {
        self.mounts
            .iter()
            .map(|base_paths| {
                let relative = strip_base(base_paths, path);
                (relative, split(relative).collect())
            })
            .collect()
    }

    fn closest(&self, relative: &[(&str, Vec<&str>)]) -> Vec<String> {
        let mut scored: Vec<(usize, &str)> = self
            .routes
            .iter()
            .map(|route| {
                let (path, segments) = &relative[route.mount];
                // Compare against the template with its parameters filled from the
                // request, so `/user/42/x` is close to `/user/{id}/y`.
                let filled = fill_template(&route.segments, segments);
                (
                    strsim::levenshtein(start_of(path), start_of(&filled)),
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

fn strip_base<'p>(base_paths: &[String], path: &'p str) -> &'p str {
    base_paths
        .iter()
        .find_map(|base| {
            path.strip_prefix(base.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .unwrap_or(path)
}

/// The methods of the first (most concrete) route that matched a path, with
/// those of the same template under other mounts: one path, one list.
fn allowed_methods(matching: &[&Route]) -> Option<Vec<Method>> {
    let first = matching.first()?;
    let mut allowed = Vec::new();
    for route in matching.iter().filter(|r| r.template == first.template) {
        for method in route.allowed_methods() {
            if !allowed.contains(&method) {
                allowed.push(method);
            }
        }
    }
    Some(allowed)
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
    fn operation_for(&self, method: &Method) -> Option<usize> {
        let exact = self.methods.iter().find(|(m, _)| m == method).map(|(_, op)| *op);
        // RFC 9110: HEAD is GET without the body, wherever GET exists.
        exact.or_else(|| {
            (*method == Method::HEAD)
                .then(|| self.methods.iter().find(|(m, _)| *m == Method::GET).map(|(_, op)| *op))
                .flatten()
        })
    }

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

fn match_segments(template: &[Segment], segments: &[&str]) -> Option<Vec<(String, String)>> {
    if template.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (expected, actual) in template.iter().zip(segments) {
        match expected {
            Segment::Literal(literal) => {
                let matches = literal == actual
                    || (actual.contains('%')
                        && crate::uri::decode_component(actual).is_ok_and(|decoded| &decoded == literal));
                if !matches {
                    return None;
                }
            }
            Segment::Param { prefix, name, suffix } => {
                let value = actual.strip_prefix(prefix.as_str())?.strip_suffix(suffix.as_str())?;
                if value.is_empty() {
                    return None;
                }
                params.push((name.clone(), value.to_string()));
            }
        }
    }
    Some(params)
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
        let mut router = Router::new(vec![]);
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
        let mut router = Router::new(vec!["/billing".into()]);
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
        let mut router = Router::new(vec!["/api/v1".into()]);
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
}
