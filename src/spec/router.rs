//! Method + path -> operation. Concrete paths win over templated ones, as
//! OpenAPI requires (`/users/me` before `/users/{id}`).

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
    template: String,
    segments: Vec<Segment>,
    literal_count: usize,
    methods: Vec<(Method, usize)>,
}

#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
    /// Path prefixes taken from the spec's server URLs (`/api/v1`); empty when
    /// the servers have no path.
    base_paths: Vec<String>,
}

impl Router {
    pub fn new(base_paths: Vec<String>) -> Self {
        let mut base_paths: Vec<String> = base_paths.into_iter().filter(|p| !p.is_empty()).collect();
        base_paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
        base_paths.dedup();
        Self {
            routes: Vec::new(),
            base_paths,
        }
    }

    pub fn add(&mut self, template: &str, method: Method, operation: usize) {
        if let Some(route) = self.routes.iter_mut().find(|r| r.template == template) {
            route.methods.push((method, operation));
            return;
        }
        let segments: Vec<Segment> = split(template).map(parse_segment).collect();
        let literal_count = segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
        self.routes.push(Route {
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
        let relative = self.strip_base(path);
        let segments: Vec<&str> = split(relative).collect();
        let mut path_exists: Option<&Route> = None;
        for route in &self.routes {
            let Some(params) = match_segments(&route.segments, &segments) else {
                continue;
            };
            if let Some(operation) = route.operation_for(method) {
                return RouteMatch::Found { operation, params };
            }
            path_exists.get_or_insert(route);
        }
        match path_exists {
            Some(route) => RouteMatch::MethodNotAllowed {
                allowed: route.allowed_methods(),
            },
            None => RouteMatch::NotFound {
                closest: self.closest(relative, &segments),
            },
        }
    }

    /// The allowed methods of the route matching `path`, if any (for CORS preflight).
    pub fn methods_at(&self, path: &str) -> Option<Vec<Method>> {
        let segments: Vec<&str> = split(self.strip_base(path)).collect();
        self.routes
            .iter()
            .find(|r| match_segments(&r.segments, &segments).is_some())
            .map(Route::allowed_methods)
    }

    fn strip_base<'p>(&self, path: &'p str) -> &'p str {
        self.base_paths
            .iter()
            .find_map(|base| {
                path.strip_prefix(base.as_str())
                    .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .unwrap_or(path)
    }

    fn closest(&self, path: &str, segments: &[&str]) -> Vec<String> {
        let mut scored: Vec<(usize, &str)> = self
            .routes
            .iter()
            .map(|route| {
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
        scored
            .into_iter()
            .take(3)
            .map(|(_, template)| template.to_string())
            .collect()
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
