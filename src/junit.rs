//! JUnit XML, the report format every CI system reads: one suite per check,
//! one test case per thing checked, a failure per problem found.

use std::fmt::Write;

#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub classname: String,
    pub seconds: f64,
    pub failure: Option<Failure>,
    /// Shown by CI systems next to the case.
    pub output: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Failure {
    /// One line.
    pub message: String,
    /// The details, one problem per line.
    pub text: String,
}

impl Case {
    pub fn passed(classname: &str, name: &str) -> Self {
        Self {
            name: name.to_string(),
            classname: classname.to_string(),
            seconds: 0.0,
            failure: None,
            output: None,
        }
    }

    pub fn failed(classname: &str, name: &str, message: String, text: String) -> Self {
        Self {
            failure: Some(Failure { message, text }),
            ..Self::passed(classname, name)
        }
    }
}

/// The whole document.
pub fn render(suites: &[Suite]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    let _ = writeln!(xml, "<testsuites tests=\"{tests}\" failures=\"{failures}\">");
    for suite in suites {
        let seconds: f64 = suite.cases.iter().map(|c| c.seconds).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{}\">",
            escape(&suite.name),
            suite.cases.len(),
            suite.failures(),
            time(seconds)
        );
        for case in &suite.cases {
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                escape(&case.classname),
                escape(&case.name),
                time(case.seconds)
            );
            if case.failure.is_none() && case.output.is_none() {
                xml.push_str("/>\n");
                continue;
            }
            xml.push_str(">\n");
            if let Some(failure) = &case.failure {
                let _ = writeln!(
                    xml,
                    "      <failure message=\"{}\" type=\"contract\">{}</failure>",
                    escape(&failure.message),
                    escape(&failure.text)
                );
            }
            if let Some(output) = &case.output {
                let _ = writeln!(xml, "      <system-out>{}</system-out>", escape(output));
            }
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

impl Suite {
    fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }
}

/// Seconds with three decimals. An empty sum of `f64`s is -0.0, which
/// prints as `-0.000`; a negative or not-a-number time means nothing
/// measured, and some readers refuse it: it is written as zero.
fn time(seconds: f64) -> String {
    let seconds = if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        0.0
    };
    format!("{seconds:.3}")
}

/// Text and attribute escaping; characters XML 1.0 cannot carry become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_failures_and_escapes() {
        let suite = Suite {
            name: "contract <client>".into(),
            cases: vec![
                Case::passed("specmock", "user-snapshot"),
                Case::failed(
                    "specmock",
                    "update-user",
                    "2 of 3 requests broke the contract".into(),
                    "/body/id: expected string, found \"5\" & more\u{1}".into(),
                ),
            ],
        };
        let xml = render(&[suite]);
        assert!(xml.contains("<testsuites tests=\"2\" failures=\"1\">"));
        assert!(xml.contains("name=\"contract &lt;client&gt;\""));
        assert!(xml.contains("<testcase classname=\"specmock\" name=\"user-snapshot\" time=\"0.000\"/>"));
        assert!(xml.contains("found &quot;5&quot; &amp; more\u{FFFD}</failure>"));
    }

    #[test]
    fn times_are_never_negative() {
        let case = |seconds| Case {
            seconds,
            ..Case::passed("specmock", "x")
        };
        let empty = Suite {
            name: "empty".into(),
            cases: Vec::new(),
        };
        let odd = Suite {
            name: "odd".into(),
            cases: vec![case(-0.0), case(-1e-9), case(f64::NAN), case(0.0004)],
        };
        let xml = render(&[empty, odd]);
        assert!(!xml.contains("-0"), "{xml}");
        assert!(!xml.contains("NaN"), "{xml}");
        assert_eq!(xml.matches("time=\"0.000\"").count(), 6, "{xml}");
    }
}
