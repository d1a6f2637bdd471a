//! How an operation is named: by scenario rules and the admin API, its
//! operationId, `SPEC:operationId` (the spec's file stem, when several are
//! served) or `METHOD /path` as the spec writes it; by reports, its
//! operationId, under its spec's name when several are served.

use super::Spec;

/// The index of the operation `reference` names, or why it names none: an
/// unknown name, or a `METHOD /path` that several specs declare.
pub fn find_operation(spec: &Spec, reference: &str) -> Result<usize, String> {
    if let Some(found) = find_in(spec, None, reference)? {
        return Ok(found);
    }
    match qualified(spec, reference) {
        Some((Ok(document), rest)) => find_in(spec, Some(document), rest)?.ok_or_else(|| unknown(spec, reference)),
        _ => Err(unknown(spec, reference)),
    }
}

/// Among `document`'s operations (or every spec's): the one of that
/// operationId, else the one of that `METHOD /path`.
fn find_in(spec: &Spec, document: Option<usize>, reference: &str) -> Result<Option<usize>, String> {
    let in_document = || {
        let operations = spec.operations.iter().enumerate();
        operations.filter(move |(_, op)| document.is_none_or(|d| op.origin.document == d))
    };
    if let Some((index, _)) = in_document().find(|(_, op)| op.id == reference) {
        return Ok(Some(index));
    }
    let Some((method, path)) = reference.split_once(' ') else {
        return Ok(None);
    };
    let declaring: Vec<(usize, &super::Operation)> = in_document()
        .filter(|(_, op)| op.method.as_str().eq_ignore_ascii_case(method) && op.path == path.trim())
        .collect();
    match declaring.as_slice() {
        [] => Ok(None),
        [(index, _)] => Ok(Some(*index)),
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|(_, op)| format!("`{}:{}`", spec.document_of(op).stem, op.id))
                .collect();
            Err(format!(
                "`{reference}` is declared by several specs: name one of {} (`SPEC:operationId`)",
                names.join(", ")
            ))
        }
    }
}

/// `SPEC:rest` split at its spec: the index of the spec of that stem, or
/// `Err` with the stem when none has it. `None`: not written so.
fn qualified<'r>(spec: &Spec, reference: &'r str) -> Option<(Result<usize, &'r str>, &'r str)> {
    let (stem, rest) = reference.split_once(':')?;
    if stem.is_empty() || stem.contains([' ', '/']) {
        return None;
    }
    let document = spec.documents.iter().position(|d| d.stem == stem);
    // With one spec, an id that merely holds a colon is no spec's name.
    if document.is_none() && spec.documents.len() < 2 {
        return None;
    }
    Some((document.ok_or(stem), rest))
}

/// What is wrong with a reference that names no operation, and what is known.
fn unknown(spec: &Spec, reference: &str) -> String {
    let known = |document: Option<usize>| {
        let ids: Vec<&str> = spec
            .operations
            .iter()
            .filter(|op| document.is_none_or(|d| op.origin.document == d))
            .map(|op| op.id.as_str())
            .collect();
        ids.join(", ")
    };
    match qualified(spec, reference) {
        None => format!(
            "unknown operation `{reference}`: expected an operationId or `METHOD /path` (known: {})",
            known(None)
        ),
        Some((Err(stem), _)) => {
            let stems: Vec<&str> = spec.documents.iter().map(|d| d.stem.as_str()).collect();
            format!(
                "unknown spec `{stem}` in `{reference}`: expected the file stem of a spec served (known: {})",
                stems.join(", ")
            )
        }
        Some((Ok(document), rest)) => format!(
            "unknown operation `{rest}` in spec `{}`: expected one of its operationIds or `METHOD /path` (known: {})",
            spec.documents[document].stem,
            known(Some(document))
        ),
    }
}

/// How a report names an operation: `SPEC:operationId` when several specs
/// are served (`stem` is its spec's), the bare operationId with one.
pub fn qualified_name(stem: Option<&str>, id: &str) -> String {
    match stem {
        Some(stem) => format!("{stem}:{id}"),
        None => id.to_string(),
    }
}

/// Report lines, each with its spec's stem (`None` with one spec), under a
/// `[STEM]` line where a spec's lines begin.
pub fn grouped<'s>(lines: impl IntoIterator<Item = (Option<&'s str>, String)>) -> String {
    let mut out = String::new();
    let mut group = None;
    for (stem, line) in lines {
        if let Some(stem) = stem.filter(|stem| group != Some(*stem)) {
            group = Some(stem);
            out.push_str(&format!("[{stem}]\n"));
        }
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::several::tests::one_get;
    use super::*;

    #[test]
    fn an_operation_id_may_hold_a_colon_bare_or_under_its_spec() {
        let spec = super::super::combine(vec![
            one_get("a.yaml", "", "/x:y", Some("x:y")),
            one_get("b.yaml", "", "/b", Some("b")),
        ])
        .expect("combined");
        assert_eq!(find_operation(&spec, "x:y"), Ok(0));
        assert_eq!(find_operation(&spec, "a:x:y"), Ok(0));
        assert_eq!(find_operation(&spec, "GET /x:y"), Ok(0));
        let wrong_spec = find_operation(&spec, "b:x:y").unwrap_err();
        assert!(
            wrong_spec.starts_with("unknown operation `x:y` in spec `b`"),
            "{wrong_spec}"
        );
    }
}
