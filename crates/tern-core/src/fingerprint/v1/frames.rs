//! Stack frames of grouping version 1: read each runtime's frame text (as the parser stores
//! it in [`ErrorInfo::stack`](crate::model::ErrorInfo)), keep the in-app frames, render them
//! without memory addresses.
//!
//! **Frozen** with the rest of `v1/`.
//!
//! In-app, per runtime (a frame whose text is none of these shapes is skipped):
//! - **Python** (`File "…", line N, in f`), **Node** (`at f (…:L:C)`, `at file:///…:L:C`) and
//!   **Ruby** (`/path:N:in 'f'`): by path. The path must be absolute and outside the runtime
//!   and library locations: `/var/runtime/`, `/var/lang/`, `/opt/` (layers: Powertools,
//!   Datadog/Sentry wrappers, shared dependencies), `/usr/`, `/lib`, and any path through
//!   `site-packages/`, `dist-packages/`, `node_modules/`, `vendor/bundle/`, `gems/`. Node's
//!   `node:…`/`internal/…` and frames without a file (`<anonymous>`) are not in-app. So
//!   `/var/task/…` is in-app, and so is a container image's own code (`/app/…`). Python
//!   packages vendored at the top of `/var/task` (`pip install -t .`) count as in-app: Lambda
//!   zips cannot be told apart from the function's code by path.
//! - **Java** (`at pkg.Class.method(File.java:N)`, also without `at `): by class, not in-app
//!   under `java.`, `javax.`, `jdk.`, `sun.`, `com.sun.`, `kotlin.`, `kotlinx.`, `scala.`,
//!   `lambdainternal.` (the Java runtime client), `com.amazonaws.` (the Lambda runtime
//!   interfaces and SDK v1), `software.amazon.` (SDK v2).
//! - **.NET** (`at Ns.Type.Method(Args) in /path/File.cs:line N`): by method, not in-app under
//!   `System.`, `Microsoft.`, `Amazon.` (`Amazon.Lambda.RuntimeSupport`, the SDK) and
//!   `lambda_method…` (generated).
//! - **Go** (`pkg.func(args) (/path/file.go:N)` from a panic, `label (path:N)` from the
//!   error payload): not in-app when the function is `runtime.…`, a standard-library package
//!   (first path element without a dot, other than `main`), or under
//!   `github.com/aws/aws-lambda-go`; nor when the file is in GOROOT (`/src/runtime/`,
//!   `/usr/local/go/`, `GOROOT/`) or in aws-lambda-go.
//!
//! Rendering keeps what identifies the code and drops what varies per process: the path
//! relative to `/var/task` (Python, Node, Ruby; `file://` dropped, so CommonJS and ES-module
//! frames of one file agree), the file name alone for Java, .NET and Go (their paths are
//! build-machine paths), the line (and Node's column: bundled code is often one line), and the
//! function without Go's argument values, .NET IL offsets (`[0x0001c]`, `+ 0x1a`) or Go's
//! `+0x1a` program-counter offsets. Python's source line is dropped (the line number says it).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Python,
    Node,
    Java,
    DotNet,
    Go,
    Ruby,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    pub style: Style,
    pub func: &'a str,
    pub file: &'a str,
    pub line: &'a str,
    pub col: &'a str,
}

/// Read one stack entry.
pub(crate) fn parse(raw: &str) -> Option<Frame<'_>> {
    let s = raw.trim();
    if let Some(rest) = s.strip_prefix("File \"") {
        return python(rest);
    }
    if let Some(rest) = s.strip_prefix("at ") {
        let rest = rest.trim();
        return java(rest).or_else(|| node(rest)).or_else(|| dotnet(rest));
    }
    java(s).or_else(|| go(s)).or_else(|| ruby(s))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

fn python(rest: &str) -> Option<Frame<'_>> {
    let (file, after) = rest.split_once('"')?;
    let after = after.strip_prefix(", line ")?;
    let n = after.bytes().take_while(u8::is_ascii_digit).count();
    let line = after.get(..n)?;
    let func = after
        .get(n..)?
        .strip_prefix(", in ")
        .map_or("", |f| f.split(['\n', '\r']).next().unwrap_or("").trim());
    Some(Frame {
        style: Style::Python,
        func,
        file,
        line,
        col: "",
    })
}

/// The text inside a trailing `(…)`, and what comes before it.
fn trailing_parens(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    Some((inner.get(..open)?, inner.get(open + 1..)?))
}

fn java(s: &str) -> Option<Frame<'_>> {
    let (func, loc) = trailing_parens(s)?;
    let known = loc == "Unknown Source" || loc == "Native Method";
    let (file, line) = loc.split_once(':').unwrap_or((loc, ""));
    let source = [".java", ".kt", ".scala", ".groovy", ".clj"]
        .iter()
        .any(|ext| file.ends_with(ext));
    if !(known || (source && (line.is_empty() || all_digits(line)))) || func.contains(' ') {
        return None;
    }
    // `java.base/java.util.Arrays.copyOf`, `app//com.example.App.run`: drop the module.
    let func = func.rsplit('/').next().unwrap_or(func);
    Some(Frame {
        style: Style::Java,
        func,
        file: if known { "" } else { file },
        line,
        col: "",
    })
}

/// `path:line:col`.
fn node_loc(loc: &str) -> Option<(&str, &str, &str)> {
    let (a, col) = loc.rsplit_once(':')?;
    let (file, line) = a.rsplit_once(':')?;
    (all_digits(line) && all_digits(col) && !file.is_empty()).then_some((file, line, col))
}

fn node(rest: &str) -> Option<Frame<'_>> {
    if let Some((file, line, col)) = node_loc(rest) {
        return Some(Frame {
            style: Style::Node,
            func: "",
            file,
            line,
            col,
        });
    }
    let inner = rest.strip_suffix(')')?;
    let (func, loc) = inner.rsplit_once(" (")?;
    let (file, line, col) = node_loc(loc).unwrap_or(("", "", ""));
    Some(Frame {
        style: Style::Node,
        func: func.trim(),
        file,
        line,
        col,
    })
}

fn dotnet(rest: &str) -> Option<Frame<'_>> {
    let rest = rest.split(" + 0x").next().unwrap_or(rest);
    let (func, file, line) = match rest.rsplit_once(" in ") {
        Some((f, loc)) => match loc.rsplit_once(":line ") {
            Some((file, line)) if all_digits(line) => (f, file, line),
            _ => (f, "", ""),
        },
        None => (rest, "", ""),
    };
    let func = func.split(" [0x").next().unwrap_or(func).trim();
    (!func.is_empty()).then_some(Frame {
        style: Style::DotNet,
        func,
        file,
        line,
        col: "",
    })
}

fn go(s: &str) -> Option<Frame<'_>> {
    let (func, loc) = trailing_parens(s)?;
    let func = func.strip_suffix(' ')?;
    let loc = loc.split(" +0x").next().unwrap_or(loc);
    let (file, line) = loc.rsplit_once(':')?;
    if !file.ends_with(".go") || !all_digits(line) {
        return None;
    }
    Some(Frame {
        style: Style::Go,
        func: strip_go_args(func.trim()),
        file,
        line,
        col: "",
    })
}

/// `main.handler({0x0, 0x0})` → `main.handler`; `pkg.(*T).M(…)` → `pkg.(*T).M`.
fn strip_go_args(func: &str) -> &str {
    let Some(inner) = func.strip_suffix(')') else {
        return func;
    };
    let mut depth = 1usize;
    for (i, c) in inner.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return inner.get(..i).unwrap_or(func);
                }
            }
            _ => {}
        }
    }
    func
}

fn ruby(s: &str) -> Option<Frame<'_>> {
    let (loc, func) = s.split_once(":in ")?;
    let (file, line) = loc.rsplit_once(':')?;
    if !all_digits(line) || file.is_empty() {
        return None;
    }
    Some(Frame {
        style: Style::Ruby,
        func: func.trim().trim_matches(['`', '\'']),
        file,
        line,
        col: "",
    })
}

const LIBRARY_PREFIXES: [&str; 6] = [
    "/var/runtime/",
    "/var/lang/",
    "/opt/",
    "/usr/",
    "/lib/",
    "/lib64/",
];
const LIBRARY_PARTS: [&str; 6] = [
    "/site-packages/",
    "/dist-packages/",
    "/node_modules/",
    "/vendor/bundle/",
    "/gems/",
    "/rubygems/",
];

fn app_path(file: &str) -> bool {
    let p = file.strip_prefix("file://").unwrap_or(file);
    p.starts_with('/')
        && !LIBRARY_PREFIXES.iter().any(|x| p.starts_with(x))
        && !LIBRARY_PARTS.iter().any(|x| p.contains(x))
}

const JAVA_LIBRARY: [&str; 11] = [
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "lambdainternal.",
    "com.amazonaws.",
    "software.amazon.",
];

const DOTNET_LIBRARY: [&str; 4] = ["System.", "Microsoft.", "Amazon.", "lambda_method"];

pub(crate) fn in_app(f: &Frame) -> bool {
    match f.style {
        Style::Python | Style::Node | Style::Ruby => app_path(f.file),
        Style::Java => !f.func.is_empty() && !JAVA_LIBRARY.iter().any(|p| f.func.starts_with(p)),
        Style::DotNet => !DOTNET_LIBRARY.iter().any(|p| f.func.starts_with(p)),
        Style::Go => go_in_app(f),
    }
}

fn go_in_app(f: &Frame) -> bool {
    const LAMBDA_GO: &str = "github.com/aws/aws-lambda-go";
    let file_lib = f.file.contains(LAMBDA_GO)
        || f.file.contains("/src/runtime/")
        || f.file.contains("/usr/local/go/")
        || f.file.starts_with("GOROOT/")
        || f.file.starts_with("runtime/");
    if file_lib || f.func.starts_with(LAMBDA_GO) || f.func.starts_with("runtime.") {
        return false;
    }
    if !f.func.contains('.') {
        return true; // a payload label: the path has decided
    }
    // The package path is everything up to the first `.` after the last `/`.
    let last_slash = f.func.rfind('/').map_or(0, |i| i + 1);
    let pkg_end = f
        .func
        .get(last_slash..)
        .and_then(|r| r.find('.'))
        .map_or(f.func.len(), |i| last_slash + i);
    let pkg = f.func.get(..pkg_end).unwrap_or("");
    let first = pkg.split('/').next().unwrap_or("");
    pkg == "main" || first.contains('.')
}

fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The frame as hashed and shown: `file:line[:col] in func`.
pub(crate) fn render(f: &Frame) -> String {
    let file = match f.style {
        Style::Python | Style::Node | Style::Ruby => {
            let p = f.file.strip_prefix("file://").unwrap_or(f.file);
            p.strip_prefix("/var/task/").unwrap_or(p)
        }
        Style::Java | Style::DotNet | Style::Go => basename(f.file),
    };
    let mut out = String::with_capacity(file.len() + f.func.len() + 16);
    out.push_str(file);
    for part in [f.line, f.col] {
        if !part.is_empty() {
            out.push(':');
            out.push_str(part);
        }
    }
    if !f.func.is_empty() {
        if !out.is_empty() {
            out.push_str(" in ");
        }
        out.push_str(f.func);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(raw: &str) -> Option<String> {
        parse(raw).filter(in_app).map(|f| render(&f))
    }

    #[test]
    fn frames_per_runtime() {
        let cases: [(&str, Option<&str>); 22] = [
            ("File \"/var/task/lambda_function.py\", line 36, in lambda_handler\nreturn event['action']", Some("lambda_function.py:36 in lambda_handler")),
            ("File \"/var/runtime/bootstrap.py\", line 60, in handle", None),
            ("File \"/var/lang/lib/python3.12/site-packages/mu/handler.py\", line 21, in on_event", None),
            ("File \"/var/task/botocore/client.py\", line 960, in _make_api_call", Some("botocore/client.py:960 in _make_api_call")),
            ("File \"/app/climate/aws.py\", line 128, in log_json", Some("/app/climate/aws.py:128 in log_json")),
            ("at handler (/var/task/index.js:5:27)", Some("index.js:5:27 in handler")),
            ("at file:///var/task/index.mjs:3:17", Some("index.mjs:3:17")),
            ("at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)", None),
            ("at ModuleJob.run (node:internal/modules/esm/module_job:271:25)", None),
            ("at get (/var/task/node_modules/lodash/get.js:1:2)", None),
            ("at new Promise (<anonymous>)", None),
            ("at example.HandlerDivide.handleRequest(HandlerDivide.java:28)", Some("HandlerDivide.java:28 in example.HandlerDivide.handleRequest")),
            ("example.HandlerDivide.handleRequest(HandlerDivide.java:13)", Some("HandlerDivide.java:13 in example.HandlerDivide.handleRequest")),
            ("at java.base/java.util.Arrays.copyOf(Arrays.java:3512)", None),
            ("at lambdainternal.EventHandlerLoader$PojoHandlerAsStreamHandler.handleRequest(EventHandlerLoader.java:199)", None),
            ("at CustomRuntimeTest.Function.ThrowTest(String input) in C:\\src\\Function.cs:line 45", Some("Function.cs:45 in CustomRuntimeTest.Function.ThrowTest(String input)")),
            ("at Amazon.Lambda.RuntimeSupport.HandlerWrapper.Invoke() in /src/HandlerWrapper.cs:line 9", None),
            ("at MyApp.Handler.Run() + 0x1a", Some("MyApp.Handler.Run()")),
            ("main.handler({0x0, 0x0}) (/var/task/main.go:12)", Some("main.go:12 in main.handler")),
            ("runtime.gopanic({0x4a0e3a, 0xc000012345}) (/usr/local/go/src/runtime/panic.go:770)", None),
            ("lambdaPanicResponse (github.com/aws/aws-lambda-go@v1.47.0/lambda/errors.go:39)", None),
            ("/var/task/function.rb:3:in `first'", Some("function.rb:3 in first")),
        ];
        for (raw, want) in cases {
            assert_eq!(app(raw).as_deref(), want, "frame: {raw:?}");
        }
    }

    #[test]
    fn go_packages() {
        let f = |func: &'static str| Frame {
            style: Style::Go,
            func,
            file: "/build/x.go",
            line: "1",
            col: "",
        };
        assert!(go_in_app(&f("github.com/acme/orders/db.(*Client).Get")));
        assert!(!go_in_app(&f("net/http.(*conn).serve")));
        assert!(!go_in_app(&f("fmt.Errorf")));
        assert!(!go_in_app(&f(
            "github.com/aws/aws-lambda-go/lambda.(*Function).Invoke"
        )));
    }
}
