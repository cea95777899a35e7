//! What each runtime prints: application lines, unhandled errors, init failures and crash
//! output, in text and JSON log formats (reference/lambda-logs.md §2.3 and §3).

use super::json::push_quoted;
use super::platform::push_u64;
use super::sample::{self, Rng};
use super::spec::{LogFormat, Runtime};
use tern_core::time::{push_go, push_iso_ms, push_iso_s, push_log4j, push_ruby};

/// Who is printing: one invocation of one function.
pub struct Ctx<'a> {
    pub runtime: Runtime,
    pub format: LogFormat,
    pub request_id: &'a str,
    /// X-Ray root, printed by .NET's JSON logger (`traceId`).
    pub trace_id: &'a str,
    /// Python's JSON error record uses `log_level` and carries the LAMBDA_WARNING prefix.
    pub legacy_python_json: bool,
}

const INFO: &[&str] = &[
    "Processing order {n}",
    "Fetched {k} items from DynamoDB in {ms} ms",
    "Cache miss for key user#{n}",
    "Published {k} events to EventBridge",
    "Received batch of {k} records",
    "Validated request payload for tenant t-{n}",
    "Calling partner API GET /v1/accounts/{n}",
    "Wrote s3://data-exports/{n}.json ({k} KiB)",
    "Authorized principal user-{n}",
    "Completed in {ms} ms",
];

const LOGGED_ERRORS: &[&str] = &[
    "Upstream returned 503, retrying (attempt 2 of 3)",
    "Failed to refresh cache entry user#{n}: connection reset by peer",
    "Dropping malformed record {n}: missing field 'id'",
];

/// Expand `{n}` (an id), `{k}` (a count) and `{ms}` (a latency) with random values.
fn expand(out: &mut String, template: &str, rng: &mut Rng) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let (lo, hi) = match &rest[open + 1..open + close] {
            "n" => (1000, 999_999),
            "k" => (1, 60),
            "ms" => (1, 400),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
                rest = &rest[open + close + 1..];
                continue;
            }
        };
        push_u64(out, sample::int(rng, lo, hi) as u64);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
}

fn message(templates: &[&str], rng: &mut Rng) -> String {
    let mut m = String::with_capacity(64);
    expand(&mut m, sample::pick::<&str>(rng, templates), rng);
    m
}

/// An ordinary application log line.
pub fn info_line(ctx: &Ctx<'_>, ts: i64, rng: &mut Rng) -> String {
    let msg = message(INFO, rng);
    app_line(ctx, ts, Level::Info, &msg)
}

/// An error the code logs and then handles: the invocation still succeeds.
pub fn logged_error_line(ctx: &Ctx<'_>, ts: i64, rng: &mut Rng) -> String {
    let msg = message(LOGGED_ERRORS, rng);
    app_line(ctx, ts, Level::Error, &msg)
}

/// A plain `print()` in a JSON-format Python function: stays plain text.
pub fn print_line(rng: &mut Rng) -> String {
    let mut s = String::from("Received event with ");
    push_u64(&mut s, sample::int(rng, 1, 40) as u64);
    s.push_str(" records\n");
    s
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Info,
    Error,
}

fn app_line(ctx: &Ctx<'_>, ts: i64, level: Level, msg: &str) -> String {
    let mut s = String::with_capacity(msg.len() + 96);
    let req = ctx.request_id;
    let err = level == Level::Error;
    match (ctx.runtime, ctx.format) {
        (Runtime::Python, LogFormat::Text) => {
            s.push_str(if err { "[ERROR]\t" } else { "[INFO]\t" });
            push_iso_ms(&mut s, ts);
            s.push('\t');
            s.push_str(req);
            s.push('\t');
            s.push_str(msg);
            s.push('\n');
        }
        (Runtime::Python, LogFormat::Json) => {
            s.push_str("{\"timestamp\": \"");
            push_iso_s(&mut s, ts);
            s.push_str(if err {
                "\", \"level\": \"ERROR\", \"message\": "
            } else {
                "\", \"level\": \"INFO\", \"message\": "
            });
            push_quoted(&mut s, msg);
            s.push_str(", \"logger\": \"root\", \"requestId\": \"");
            s.push_str(req);
            s.push_str("\", \"location\": \"/var/task/app.py:lambda_handler:");
            s.push_str(if err { "71" } else { "38" });
            s.push_str("\"}");
        }
        (Runtime::Node, LogFormat::Text) => {
            push_iso_ms(&mut s, ts);
            s.push('\t');
            s.push_str(req);
            s.push_str(if err { "\tERROR\t" } else { "\tINFO\t" });
            s.push_str(msg);
            s.push('\n');
        }
        (Runtime::Node, LogFormat::Json) => {
            s.push_str("{\"timestamp\":\"");
            push_iso_ms(&mut s, ts);
            s.push_str(if err {
                "\",\"level\":\"ERROR\",\"requestId\":\""
            } else {
                "\",\"level\":\"INFO\",\"requestId\":\""
            });
            s.push_str(req);
            s.push_str("\",\"message\":");
            push_quoted(&mut s, msg);
            s.push('}');
        }
        (Runtime::Dotnet, LogFormat::Json) => {
            s.push_str("{\"timestamp\": \"");
            push_iso_ms(&mut s, ts);
            s.push_str(if err {
                "\",\"level\": \"Error\",\"requestId\": \""
            } else {
                "\",\"level\": \"Information\",\"requestId\": \""
            });
            s.push_str(req);
            s.push_str("\",\"traceId\": \"");
            s.push_str(ctx.trace_id);
            s.push_str("\",\"message\": ");
            push_quoted(&mut s, msg);
            s.push('}');
        }
        (Runtime::Dotnet, LogFormat::Text) => {
            push_iso_ms(&mut s, ts);
            s.push('\t');
            s.push_str(req);
            s.push_str(if err { "\tfail\t" } else { "\tinfo\t" });
            s.push_str(msg);
            s.push('\n');
        }
        (Runtime::Java, _) => {
            push_log4j(&mut s, ts);
            s.push(' ');
            s.push_str(req);
            s.push_str(if err {
                " ERROR Handler - "
            } else {
                " INFO  Handler - "
            });
            s.push_str(msg);
            s.push('\n');
        }
        (Runtime::Go, _) => {
            push_go(&mut s, ts);
            s.push_str(if err { " ERROR " } else { " " });
            s.push_str(msg);
            s.push('\n');
        }
        (Runtime::Ruby, _) => {
            s.push_str(if err { "E, [" } else { "I, [" });
            push_ruby(&mut s, ts);
            s.push_str(if err { " #8] ERROR " } else { " #8]  INFO " });
            s.push_str(req);
            s.push_str(" -- : ");
            s.push_str(msg);
            s.push('\n');
        }
    }
    s
}

/// A line printed while the environment initializes (no request id yet), if the runtime
/// prints one.
pub fn init_line(runtime: Runtime, format: LogFormat, ts: i64) -> Option<String> {
    let mut s = String::with_capacity(120);
    match (runtime, format) {
        (Runtime::Python, LogFormat::Text) => {
            s.push_str("[INFO]\t");
            push_iso_ms(&mut s, ts);
            s.push_str("\t\tFound credentials in environment variables.\n");
        }
        (Runtime::Python, LogFormat::Json) => {
            s.push_str("{\"timestamp\": \"");
            push_iso_s(&mut s, ts);
            s.push_str("\", \"level\": \"INFO\", \"message\": \"Found credentials in environment variables.\", \"logger\": \"botocore.credentials\", \"requestId\": \"\"}");
        }
        (Runtime::Node, LogFormat::Text) => {
            push_iso_ms(&mut s, ts);
            s.push_str("\tundefined\tINFO\tLoaded 14 parameters from SSM\n");
        }
        (Runtime::Java, _) => {
            push_log4j(&mut s, ts);
            s.push_str("  INFO  Handler - Warming up pricing tables\n");
        }
        (Runtime::Go, _) => {
            push_go(&mut s, ts);
            s.push_str(" config loaded: region=us-east-1 table=events\n");
        }
        _ => return None,
    }
    Some(s)
}

struct PyError {
    kind: &'static str,
    message: &'static str,
    /// (file, line, function, source line)
    frames: &'static [(&'static str, u32, &'static str, &'static str)],
}

const PY_ERRORS: &[PyError] = &[
    PyError {
        kind: "KeyError",
        message: "'order_id'",
        frames: &[("/var/task/app.py", 42, "lambda_handler", "order_id = event['order_id']")],
    },
    PyError {
        kind: "ValueError",
        message: "invalid literal for int() with base 10: 'n/a'",
        frames: &[("/var/task/app.py", 57, "lambda_handler", "quantity = int(item['qty'])")],
    },
    PyError {
        kind: "ClientError",
        message: "An error occurred (ConditionalCheckFailedException) when calling the PutItem operation: The conditional request failed",
        frames: &[
            ("/var/task/app.py", 88, "lambda_handler", "table.put_item(Item=item, ConditionExpression='attribute_not_exists(pk)')"),
            ("/var/lang/lib/python3.12/site-packages/botocore/client.py", 1023, "_make_api_call", "raise error_class(parsed_response, operation_name)"),
        ],
    },
    PyError {
        kind: "TypeError",
        message: "'NoneType' object is not subscriptable",
        frames: &[("/var/task/app.py", 31, "lambda_handler", "customer = profile['customer']")],
    },
    PyError {
        kind: "ReadTimeoutError",
        message: "Read timeout on endpoint URL: \"https://api.partner.example.com/v1/orders\"",
        frames: &[
            ("/var/task/app.py", 64, "lambda_handler", "resp = partner.fetch(order_id)"),
            ("/var/task/partner.py", 18, "fetch", "return self.session.get(url, timeout=5)"),
        ],
    },
];

struct NodeError {
    kind: &'static str,
    message: &'static str,
    /// `stack` entries after the first (`<kind>: <message>`).
    frames: &'static [&'static str],
}

const NODE_ERRORS: &[NodeError] = &[
    NodeError {
        kind: "TypeError",
        message: "Cannot read properties of undefined (reading 'id')",
        frames: &[
            "    at Runtime.handler (file:///var/task/index.mjs:27:31)",
            "    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)",
        ],
    },
    NodeError {
        kind: "AxiosError",
        message: "Request failed with status code 502",
        frames: &[
            "    at settle (/var/task/node_modules/axios/dist/node/axios.cjs:2031:12)",
            "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
            "    at async Runtime.handler (file:///var/task/index.mjs:44:20)",
        ],
    },
    NodeError {
        kind: "SyntaxError",
        message: "Unexpected token 'u', \"undefined\" is not valid JSON",
        frames: &[
            "    at JSON.parse (<anonymous>)",
            "    at Runtime.handler (file:///var/task/index.mjs:12:23)",
            "    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)",
        ],
    },
    NodeError {
        kind: "ValidationError",
        message: "\"email\" must be a valid email",
        frames: &[
            "    at Object.validate (/var/task/node_modules/joi/lib/base.js:512:26)",
            "    at Runtime.handler (file:///var/task/index.mjs:19:15)",
        ],
    },
];

/// (exception class, message, frames without the `at `)
const JAVA_ERRORS: &[(&str, &str, &[&str])] = &[
    (
        "java.lang.NullPointerException",
        "Cannot invoke \"String.length()\" because \"input\" is null",
        &["com.example.app.Handler.normalize(Handler.java:88)", "com.example.app.Handler.handleRequest(Handler.java:41)"],
    ),
    (
        "java.lang.IllegalStateException",
        "Quote already finalized",
        &["com.example.app.QuoteService.finalize(QuoteService.java:132)", "com.example.app.Handler.handleRequest(Handler.java:57)"],
    ),
    (
        "java.lang.ArithmeticException",
        "/ by zero",
        &["com.example.app.Pricing.ratio(Pricing.java:28)", "com.example.app.Handler.handleRequest(Handler.java:49)"],
    ),
    (
        "software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException",
        "Rate of requests exceeds the allowed throughput. (Service: DynamoDb, Status Code: 400)",
        &[
            "software.amazon.awssdk.core.internal.http.CombinedResponseHandler.handleErrorResponse(CombinedResponseHandler.java:125)",
            "com.example.app.Store.put(Store.java:61)",
            "com.example.app.Handler.handleRequest(Handler.java:66)",
        ],
    ),
];

const DOTNET_ERRORS: &[(&str, &str, &[&str])] = &[
    (
        "System.InvalidOperationException",
        "Sequence contains no elements",
        &["at System.Linq.ThrowHelper.ThrowNoElementsException()", "at App.Function.FunctionHandler(SQSEvent evnt, ILambdaContext context) in /src/App/Function.cs:line 48"],
    ),
    (
        "System.NullReferenceException",
        "Object reference not set to an instance of an object.",
        &["at App.Function.FunctionHandler(SQSEvent evnt, ILambdaContext context) in /src/App/Function.cs:line 31"],
    ),
    (
        "Amazon.DynamoDBv2.Model.ConditionalCheckFailedException",
        "The conditional request failed",
        &["at Amazon.Runtime.Internal.HttpErrorResponseExceptionHandler.HandleExceptionStream(IRequestContext requestContext, IWebResponseData httpErrorResponse, HttpErrorResponseException exception, Stream responseStream)", "at App.Store.PutAsync(Item item) in /src/App/Store.cs:line 77"],
    ),
    (
        "System.Net.Http.HttpRequestException",
        "Response status code does not indicate success: 503 (Service Unavailable).",
        &["at System.Net.Http.HttpResponseMessage.EnsureSuccessStatusCode()", "at App.Partner.SendAsync(Message m) in /src/App/Partner.cs:line 22"],
    ),
];

const GO_ERRORS: &[(&str, &str)] = &[
    ("errorString", "failed to decode payload: unexpected EOF"),
    ("wrapError", "put item: operation error DynamoDB: PutItem, https response error StatusCode: 400, ConditionalCheckFailedException: The conditional request failed"),
    ("errorString", "record is missing field \"tenant_id\""),
];

const RUBY_ERRORS: &[(&str, &str, &[&str])] = &[
    ("Function<NoMethodError>", "undefined method `[]' for nil", &["/var/task/function.rb:14:in `handler'"]),
    ("Function<KeyError>", "key not found: :invoice_id", &["/var/task/function.rb:9:in `fetch'", "/var/task/function.rb:9:in `handler'"]),
    ("Function<Net::ReadTimeout>", "Net::ReadTimeout with #<TCPSocket:(closed)>", &["/var/lang/lib/ruby/3.3.0/net/protocol.rb:229:in `rbuf_fill'", "/var/task/function.rb:22:in `handler'"]),
    ("Function<Aws::SES::Errors::Throttling>", "Maximum sending rate exceeded.", &["/var/task/vendor/bundle/ruby/3.3.0/gems/aws-sdk-core-3.201.0/lib/seahorse/client/plugins/raise_response_errors.rb:17:in `call'", "/var/task/function.rb:31:in `handler'"]),
];

/// The runtime's report of an unhandled handler exception: one event, or two for Ruby.
pub fn handler_error(ctx: &Ctx<'_>, ts: i64, rng: &mut Rng) -> Vec<String> {
    let req = ctx.request_id;
    match (ctx.runtime, ctx.format) {
        (Runtime::Python, format) => {
            let e = sample::pick(rng, PY_ERRORS);
            vec![python_error(
                ctx, format, ts, e.kind, e.message, e.frames, req,
            )]
        }
        (Runtime::Node, LogFormat::Text) => {
            let e = sample::pick(rng, NODE_ERRORS);
            let mut s = String::with_capacity(400);
            push_iso_ms(&mut s, ts);
            s.push('\t');
            s.push_str(req);
            s.push_str("\tERROR\tInvoke Error \t");
            let head = format!("{}: {}", e.kind, e.message);
            node_error_json(&mut s, e.kind, e.message, &head, e.frames, "stack");
            s.push('\n');
            vec![s]
        }
        (Runtime::Node, LogFormat::Json) => {
            let e = sample::pick(rng, NODE_ERRORS);
            let mut s = String::with_capacity(400);
            s.push_str("{\"timestamp\":\"");
            push_iso_ms(&mut s, ts);
            s.push_str("\",\"level\":\"ERROR\",\"requestId\":\"");
            s.push_str(req);
            s.push_str("\",\"message\":");
            let head = format!("{}: {}", e.kind, e.message);
            node_error_json(&mut s, e.kind, e.message, &head, e.frames, "stackTrace");
            s.push('}');
            vec![s]
        }
        (Runtime::Java, _) => {
            // UserFault.reportableError(): "<msg>: <class>\n<printStackTrace>\n"
            let (class, msg, frames) = sample::pick(rng, JAVA_ERRORS);
            let mut s = String::with_capacity(400);
            s.push_str(msg);
            s.push_str(": ");
            s.push_str(class);
            s.push('\n');
            s.push_str(class);
            s.push_str(": ");
            s.push_str(msg);
            for f in *frames {
                s.push_str("\n\tat ");
                s.push_str(f);
            }
            s.push_str("\n\n");
            vec![s]
        }
        (Runtime::Dotnet, LogFormat::Text) => {
            let (class, msg, frames) = sample::pick(rng, DOTNET_ERRORS);
            let mut s = String::with_capacity(400);
            push_iso_ms(&mut s, ts);
            s.push('\t');
            s.push_str(req);
            s.push_str("\tfail\t");
            s.push_str(class);
            s.push_str(": ");
            s.push_str(msg);
            for f in *frames {
                s.push_str("\n   ");
                s.push_str(f);
            }
            s.push('\n');
            vec![s]
        }
        (Runtime::Dotnet, LogFormat::Json) => {
            let (class, msg, frames) = sample::pick(rng, DOTNET_ERRORS);
            let mut s = String::with_capacity(500);
            s.push_str("{\"timestamp\": \"");
            push_iso_ms(&mut s, ts);
            s.push_str("\",\"level\": \"Error\",\"requestId\": \"");
            s.push_str(req);
            s.push_str("\",\"traceId\": \"");
            s.push_str(ctx.trace_id);
            s.push_str("\",\"message\": null,\"errorType\": ");
            push_quoted(&mut s, class);
            s.push_str(",\"errorMessage\": ");
            push_quoted(&mut s, msg);
            s.push_str(",\"stackTrace\": [");
            push_quoted(&mut s, &format!("{class}: {msg}"));
            for f in *frames {
                s.push(',');
                push_quoted(&mut s, f);
            }
            s.push_str("]}");
            vec![s]
        }
        (Runtime::Go, _) => {
            // aws-lambda-go reportFailure: log.Printf("%s", errorPayload)
            let (kind, msg) = sample::pick(rng, GO_ERRORS);
            let mut s = String::with_capacity(200);
            push_go(&mut s, ts);
            s.push_str(" {\"errorMessage\":");
            push_quoted(&mut s, msg);
            s.push_str(",\"errorType\":\"");
            s.push_str(kind);
            s.push_str("\"}\n");
            vec![s]
        }
        (Runtime::Ruby, _) => {
            let (kind, msg, frames) = sample::pick(rng, RUBY_ERRORS);
            let mut s = String::with_capacity(300);
            s.push_str("{\n  \"errorMessage\": ");
            push_quoted(&mut s, msg);
            s.push_str(",\n  \"errorType\": \"");
            s.push_str(kind);
            s.push_str("\",\n  \"stackTrace\": [\n");
            for (i, f) in frames.iter().enumerate() {
                s.push_str("    ");
                push_quoted(&mut s, f);
                if i + 1 < frames.len() {
                    s.push(',');
                }
                s.push('\n');
            }
            s.push_str("  ]\n}\n");
            vec!["Error raised from handler method\n".to_string(), s]
        }
    }
}

/// Node's error object; its stack is `head` (Node's `Type: message` line) then `frames`.
fn node_error_json(
    s: &mut String,
    kind: &str,
    msg: &str,
    head: &str,
    frames: &[&str],
    stack_key: &str,
) {
    s.push_str("{\"errorType\":");
    push_quoted(s, kind);
    s.push_str(",\"errorMessage\":");
    push_quoted(s, msg);
    s.push_str(",\"");
    s.push_str(stack_key);
    s.push_str("\":[");
    push_quoted(s, head);
    for f in frames {
        s.push(',');
        push_quoted(s, f);
    }
    s.push_str("]}");
}

const NBSP: char = '\u{a0}';

/// Python's `log_error`: text mode prints `[ERROR] Type: message` + Traceback with U+00A0
/// indentation (lines joined by `\n`, no trailing newline); JSON mode prints one record.
fn python_error(
    ctx: &Ctx<'_>,
    format: LogFormat,
    ts: i64,
    kind: &str,
    msg: &str,
    frames: &[(&str, u32, &str, &str)],
    req: &str,
) -> String {
    let mut s = String::with_capacity(400);
    match format {
        LogFormat::Text => {
            s.push_str("[ERROR] ");
            s.push_str(kind);
            s.push_str(": ");
            s.push_str(msg);
            s.push_str("\nTraceback (most recent call last):");
            for (file, line, func, code) in frames {
                s.push('\n');
                s.push(NBSP);
                s.push(NBSP);
                s.push_str("File \"");
                s.push_str(file);
                s.push_str("\", line ");
                push_u64(&mut s, u64::from(*line));
                s.push_str(", in ");
                s.push_str(func);
                s.push('\n');
                for _ in 0..4 {
                    s.push(NBSP);
                }
                s.push_str(code);
            }
        }
        LogFormat::Json => {
            if ctx.legacy_python_json {
                s.push_str(LAMBDA_WARNING);
                s.push('\r');
            }
            s.push_str("{\"timestamp\": \"");
            push_iso_s(&mut s, ts);
            s.push_str(if ctx.legacy_python_json {
                "\", \"log_level\": \"ERROR\", \"errorMessage\": "
            } else {
                "\", \"level\": \"ERROR\", \"errorMessage\": "
            });
            push_quoted(&mut s, msg);
            s.push_str(", \"errorType\": ");
            push_quoted(&mut s, kind);
            s.push_str(", \"requestId\": \"");
            s.push_str(req);
            s.push_str("\", \"stackTrace\": [");
            for (i, (file, line, func, code)) in frames.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                push_quoted(
                    &mut s,
                    &format!("  File \"{file}\", line {line}, in {func}\n    {code}\n"),
                );
            }
            s.push_str("]}");
            if ctx.legacy_python_json {
                s.push('\n');
            }
        }
    }
    s
}

/// Python's `LAMBDA_WARNING` (awslambdaric/lambda_literals.py).
pub const LAMBDA_WARNING: &str = "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare cases, a Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, runtime updates can be triggered by a function change, or can be applied automatically. To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. If this error correlates with a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the previous runtime version. For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html";

/// What a failing init prints, and the error type the platform reports for it.
pub fn init_failure(ctx: &Ctx<'_>, ts: i64) -> (&'static str, Vec<String>) {
    match (ctx.runtime, ctx.format) {
        (Runtime::Python, LogFormat::Text) => {
            let mut warn = String::with_capacity(LAMBDA_WARNING.len() + 48);
            warn.push_str("[WARNING]\t");
            push_iso_ms(&mut warn, ts);
            warn.push_str("\t\t");
            warn.push_str(LAMBDA_WARNING);
            warn.push('\n');
            let err = "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'requests'\nTraceback (most recent call last):".to_string();
            ("Runtime.ImportModuleError", vec![warn, err])
        }
        (Runtime::Python, LogFormat::Json) => {
            let mut s = String::with_capacity(256);
            s.push_str("{\"timestamp\": \"");
            push_iso_s(&mut s, ts);
            s.push_str("\", \"level\": \"ERROR\", \"errorMessage\": \"Unable to import module 'app': No module named 'requests'\", \"errorType\": \"Runtime.ImportModuleError\", \"requestId\": \"\", \"stackTrace\": []}");
            ("Runtime.ImportModuleError", vec![s])
        }
        (Runtime::Node, format) => {
            let frames: &[&str] = &[
                "Require stack:",
                "- /var/task/index.js",
                "- /var/runtime/index.mjs",
                "    at _loadUserApp (file:///var/runtime/index.mjs:1087:17)",
                "    at async UserFunction.js.module.exports.load (file:///var/runtime/index.mjs:1119:21)",
                "    at async start (file:///var/runtime/index.mjs:1282:23)",
                "    at async file:///var/runtime/index.mjs:1288:1",
            ];
            let msg = "Error: Cannot find module 'axios'\nRequire stack:\n- /var/task/index.js\n- /var/runtime/index.mjs";
            let mut s = String::with_capacity(700);
            let kind = "Runtime.ImportModuleError";
            let head = "Runtime.ImportModuleError: Error: Cannot find module 'axios'";
            if format == LogFormat::Text {
                push_iso_ms(&mut s, ts);
                s.push_str("\tundefined\tERROR\tUncaught Exception \t");
                node_error_json(&mut s, kind, msg, head, frames, "stack");
                s.push('\n');
            } else {
                s.push_str("{\"timestamp\":\"");
                push_iso_ms(&mut s, ts);
                s.push_str("\",\"level\":\"ERROR\",\"message\":");
                node_error_json(&mut s, kind, msg, head, frames, "stackTrace");
                s.push('}');
            }
            (kind, vec![s])
        }
        // A custom runtime without a bootstrap, or a managed runtime whose handler class or
        // assembly is missing: the platform reports an invalid entrypoint.
        _ => ("Runtime.InvalidEntrypoint", Vec::new()),
    }
}

/// What a crashing runtime prints before it dies, and the exit reason RAPID reports. Never
/// `signal: killed`: that is the out-of-memory signature.
pub fn crash_output(ctx: &Ctx<'_>, ts: i64) -> (&'static str, Vec<String>) {
    match ctx.runtime {
        Runtime::Go => {
            let _ = ts;
            let lines = [
                "panic: runtime error: invalid memory address or nil pointer dereference\n",
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6b2f1c]\n",
                "goroutine 34 [running]:\n",
                "main.(*Batcher).flush(0xc0001a2000)\n",
                "\t/build/batcher.go:88 +0x3c\n",
                "created by main.handler in goroutine 1\n",
                "\t/build/main.go:57 +0x1f4\n",
            ];
            (
                "exit status 2",
                lines.iter().map(|l| l.to_string()).collect(),
            )
        }
        Runtime::Python => ("signal: segmentation fault", Vec::new()),
        Runtime::Dotnet => ("signal: aborted", Vec::new()),
        Runtime::Node | Runtime::Java | Runtime::Ruby => ("exit status 1", Vec::new()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ctx(runtime: Runtime, format: LogFormat) -> Ctx<'static> {
        Ctx {
            runtime,
            format,
            request_id: "c6af9ac6-7b61-11e6-9a41-93e812345678",
            trace_id: "Root=1-6626020d-3c2b5f4e1a2b3c4d5e6f7a8b",
            legacy_python_json: false,
        }
    }

    #[test]
    fn json_outputs_parse() {
        let mut rng = sample::rng_for(3, 4);
        for rt in [Runtime::Python, Runtime::Node, Runtime::Dotnet] {
            let c = ctx(rt, LogFormat::Json);
            for _ in 0..20 {
                for m in handler_error(&c, 0, &mut rng) {
                    let v: serde_json::Value = serde_json::from_str(&m).unwrap();
                    assert!(v.is_object(), "{m}");
                }
                let m = info_line(&c, 0, &mut rng);
                let _: serde_json::Value = serde_json::from_str(&m).unwrap();
                let m = logged_error_line(&c, 0, &mut rng);
                let _: serde_json::Value = serde_json::from_str(&m).unwrap();
            }
            for m in init_failure(&c, 0).1 {
                let _: serde_json::Value = serde_json::from_str(&m).unwrap();
            }
        }
        // Node's text `Invoke Error` carries JSON after the tab.
        let c = ctx(Runtime::Node, LogFormat::Text);
        let m = handler_error(&c, 0, &mut rng).remove(0);
        let json = m.split("Invoke Error \t").nth(1).unwrap();
        let _: serde_json::Value = serde_json::from_str(json.trim_end()).unwrap();
        // Ruby's second event is pretty JSON.
        let c = ctx(Runtime::Ruby, LogFormat::Text);
        let v = handler_error(&c, 0, &mut rng);
        assert_eq!(v[0], "Error raised from handler method\n");
        let _: serde_json::Value = serde_json::from_str(&v[1]).unwrap();
    }

    #[test]
    fn python_traceback_uses_nbsp() {
        let mut rng = sample::rng_for(1, 1);
        let c = ctx(Runtime::Python, LogFormat::Text);
        let m = handler_error(&c, 0, &mut rng).remove(0);
        assert!(m.starts_with("[ERROR] "));
        assert!(m.contains("\nTraceback (most recent call last):\n\u{a0}\u{a0}File \""));
        assert!(!m.ends_with('\n'));
    }
}
