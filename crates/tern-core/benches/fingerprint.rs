//! Fingerprint cost: `cargo bench -p tern-core --bench fingerprint`.
//!
//! Times `fingerprint` over a few representative errors (a Python stack, a Node stack with
//! runtime frames, a Go payload without a stack, a long Java message, a timeout) and
//! `normalize_message` over an 8 KiB message, and prints nanoseconds per call. No criterion:
//! a plain `Instant` loop, run in release mode by `cargo bench`.

use std::hint::black_box;
use std::time::Instant;

use tern_core::fingerprint::{fingerprint, normalize_message, GROUPING_VERSION};
use tern_core::model::{ErrorInfo, Outcome};

fn err(t: &str, m: &str, stack: &[&str]) -> ErrorInfo {
    ErrorInfo {
        error_type: t.into(),
        message: m.into(),
        stack: stack.iter().map(|s| s.to_string()).collect(),
    }
}

fn time<F: FnMut()>(rounds: usize, mut f: F) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        f();
    }
    start.elapsed().as_nanos() as f64 / rounds as f64
}

fn main() {
    let cases = [
        ("python_stack", Outcome::Error, err("KeyError", "'user_id'", &[
            "File \"/var/runtime/bootstrap.py\", line 180, in handle_event_request\nresponse = request_handler(event, lambda_context)",
            "File \"/var/task/lambda_function.py\", line 36, in lambda_handler\nreturn load(event)",
            "File \"/var/task/orders.py\", line 12, in load\nreturn ORDERS[event['id']]",
        ])),
        ("node_stack", Outcome::Error, err("TypeError", "Cannot read properties of undefined (reading 'id')", &[
            "at getOrder (file:///var/task/orders.mjs:5:27)",
            "at async Runtime.handler (file:///var/task/index.mjs:14:20)",
            "at async Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)",
        ])),
        ("go_message", Outcome::Error, err("errorString", "account 12345 is not invited (request 8f507cfc-6e2a-4697-b07a-ac58fc914c95) at 2026-09-14T22:25:42Z from 10.0.3.7:5432", &[])),
        ("java_long_message", Outcome::Error, err("software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException", &"The conditional request failed (Service: DynamoDb, Status Code: 400, Request ID: 8RPAH4DSQ0K7GGRKQDGD7TSV8NVV4KQNSO5AEMVJF66Q9ASUAAJG) for item 'order#42' ".repeat(8), &[])),
        ("timeout", Outcome::Timeout, err("", "", &[])),
    ];
    const ROUNDS: usize = 200_000;
    println!("fingerprint, grouping version {GROUPING_VERSION} ({ROUNDS} rounds each):");
    for (name, outcome, e) in &cases {
        let ns = time(ROUNDS, || {
            black_box(fingerprint(
                black_box("orders-api"),
                *outcome,
                Some(black_box(e)),
                GROUPING_VERSION,
            ));
        });
        println!("  {name:<18} {ns:>8.0} ns");
    }
    let big = "Order 42 for 8f507cfc-6e2a-4697-b07a-ac58fc914c95 failed at 2026-01-01T00:00:00Z; "
        .repeat(200);
    let ns = time(20_000, || {
        black_box(normalize_message(black_box(&big)));
    });
    println!(
        "  normalize 16 KiB   {ns:>8.0} ns (reads the first 8 KiB, stops at 512 output bytes)"
    );
}
