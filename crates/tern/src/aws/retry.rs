//! Which AWS errors are worth another try, and how long to wait before it.
//!
//! The SDK's own retries are off (see `aws/mod.rs`), so every call goes through [`call`]:
//! throttling (`ThrottlingException`, `LimitExceededException`, HTTP 429) and server errors
//! (5xx, timeouts, broken connections) are retried with exponential backoff and jitter, a
//! bounded number of times; everything else is returned at once, classified, so the caller
//! can tell an expired nextToken or a deleted log group from a real failure.

use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use rand::Rng;

/// What an error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Slow down and retry (rate exceeded).
    Throttled,
    /// Retry: the server or the network failed, not the request.
    Transient,
    /// The pagination token expired or is invalid: restart the window without it.
    TokenExpired,
    /// The resource (log group, function) does not exist (any more).
    NotFound,
    /// Retrying will not help: bad credentials, bad request, malformed response.
    Fatal,
}

/// Attempts for a throttled call, the first included.
pub const THROTTLE_ATTEMPTS: u32 = 8;
/// Attempts for a call failing for transient reasons, the first included.
pub const TRANSIENT_ATTEMPTS: u32 = 4;
/// First backoff; doubles with each attempt.
const BASE: Duration = Duration::from_millis(250);
/// Longest single backoff.
const CAP: Duration = Duration::from_secs(20);

/// Classify by the error code, message and HTTP status AWS sent.
pub fn classify_parts(code: Option<&str>, message: Option<&str>, status: Option<u16>) -> Class {
    match code {
        Some(
            "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "LimitExceededException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "SlowDown",
        ) => return Class::Throttled,
        Some("ResourceNotFoundException") => return Class::NotFound,
        Some("InvalidParameterException")
            if message.is_some_and(|m| m.to_ascii_lowercase().contains("token")) =>
        {
            return Class::TokenExpired
        }
        Some(
            "ServiceUnavailableException"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "InternalServerError"
            | "ServiceException",
        ) => return Class::Transient,
        _ => {}
    }
    match status {
        Some(429) => Class::Throttled,
        Some(500..=599) => Class::Transient,
        _ => Class::Fatal,
    }
}

/// Classify an SDK error.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Class {
    match err {
        SdkError::TimeoutError(_) => Class::Transient,
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Class::Transient,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => Class::Fatal,
        SdkError::ResponseError(r) => match r.raw().status().as_u16() {
            429 => Class::Throttled,
            500..=599 => Class::Transient,
            _ => Class::Fatal,
        },
        SdkError::ServiceError(s) => {
            classify_parts(err.code(), err.message(), Some(s.raw().status().as_u16()))
        }
        // `SdkError` is non-exhaustive.
        _ => Class::Fatal,
    }
}

/// One line that says what went wrong: `Code: message`, or the whole error chain.
pub fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> String {
    match (err.code(), err.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => format!("{}", DisplayErrorContext(err)),
    }
}

/// The wait before retry number `attempt` (0 for the first retry): exponential, capped, with
/// "equal jitter" (half fixed, half random, `jitter` in [0, 1)), so concurrent callers spread
/// out but none retries at once.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let exp = BASE.saturating_mul(1u32 << attempt.min(16)).min(CAP);
    let half = exp / 2;
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    half + half.mul_f64(jitter)
}

/// How many attempts a class of error gets, the first included.
pub fn attempts(class: Class) -> u32 {
    match class {
        Class::Throttled => THROTTLE_ATTEMPTS,
        Class::Transient => TRANSIENT_ATTEMPTS,
        _ => 1,
    }
}

/// Run `op` until it succeeds, fails for good, or runs out of attempts. `on_retry(class)` is
/// called before each retry (to count throttles). `op` runs once per attempt, so it should
/// take its rate-limiter token inside.
pub async fn call<T, E, F, Fut>(
    op: F,
    on_retry: impl FnMut(Class),
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    call_classified(op, classify, on_retry).await
}

/// [`call`] with another classifier (for calls where an error code means something else:
/// `LimitExceededException` from PutSubscriptionFilter is a resource limit, not a rate).
pub async fn call_classified<T, E, F, Fut>(
    mut op: F,
    class_of: impl Fn(&SdkError<E, HttpResponse>) -> Class,
    mut on_retry: impl FnMut(Class),
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut attempt = 0u32;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let class = class_of(&e);
                attempt += 1;
                if attempt >= attempts(class) {
                    return Err(e);
                }
                on_retry(class);
                let jitter = rand::rng().random::<f64>();
                tokio::time::sleep(backoff(attempt - 1, jitter)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retried() {
        for code in [
            "ThrottlingException",
            "LimitExceededException",
            "TooManyRequestsException",
        ] {
            assert_eq!(
                classify_parts(Some(code), Some("Rate exceeded"), Some(400)),
                Class::Throttled
            );
        }
        assert_eq!(classify_parts(None, None, Some(429)), Class::Throttled);
        assert_eq!(classify_parts(None, None, Some(503)), Class::Transient);
        assert_eq!(
            classify_parts(Some("ServiceUnavailableException"), None, Some(400)),
            Class::Transient
        );
    }

    #[test]
    fn token_expiry_not_found_and_fatal_are_told_apart() {
        // The message AWS sends for a stale FilterLogEvents token.
        assert_eq!(
            classify_parts(
                Some("InvalidParameterException"),
                Some("The specified nextToken has expired."),
                Some(400)
            ),
            Class::TokenExpired
        );
        assert_eq!(
            classify_parts(
                Some("InvalidParameterException"),
                Some("1 validation error detected: startTime"),
                Some(400)
            ),
            Class::Fatal
        );
        assert_eq!(
            classify_parts(
                Some("ResourceNotFoundException"),
                Some("The specified log group does not exist."),
                Some(400)
            ),
            Class::NotFound
        );
        assert_eq!(
            classify_parts(Some("AccessDeniedException"), None, Some(403)),
            Class::Fatal
        );
        assert_eq!(classify_parts(None, None, Some(400)), Class::Fatal);
        assert_eq!(classify_parts(None, None, None), Class::Fatal);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff(0, 0.0), Duration::from_millis(125));
        assert_eq!(backoff(0, 1.0), Duration::from_millis(250));
        assert_eq!(backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(3, 0.5), Duration::from_millis(1500));
        for a in 0..40 {
            assert!(backoff(a, 0.999) <= CAP, "attempt {a}");
            assert!(backoff(a, 0.0) >= BASE / 2, "attempt {a}");
            assert!(backoff(a, 0.0) <= backoff(a + 1, 0.0));
        }
        assert_eq!(backoff(100, 1.0), CAP);
        // Out-of-range jitter is clamped, never a panic.
        assert_eq!(backoff(0, 7.0), Duration::from_millis(250));
        assert_eq!(backoff(0, f64::NAN), backoff(0, 0.0));
    }

    fn service_error(
        status: u16,
        code: &str,
    ) -> SdkError<
        aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError,
        HttpResponse,
    > {
        use aws_sdk_cloudwatchlogs::error::ErrorMetadata;
        use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;
        let raw = HttpResponse::new(
            status.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(
            FilterLogEventsError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("Rate exceeded")
                    .build(),
            ),
            raw,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn call_retries_throttles_with_backoff_then_gives_up() {
        let t0 = tokio::time::Instant::now();
        let mut calls = 0;
        let mut seen = Vec::new();
        let r: Result<(), _> = call(
            || {
                calls += 1;
                async { Err(service_error(400, "ThrottlingException")) }
            },
            |c| seen.push(c),
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(describe(&e), "ThrottlingException: Rate exceeded");
        assert_eq!(calls, THROTTLE_ATTEMPTS);
        assert_eq!(seen, vec![Class::Throttled; THROTTLE_ATTEMPTS as usize - 1]);
        // At least half of each exponential step was waited.
        let min: Duration = (0..THROTTLE_ATTEMPTS - 1).map(|a| backoff(a, 0.0)).sum();
        assert!(t0.elapsed() >= min, "{:?} < {min:?}", t0.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn call_succeeds_after_transient_errors_and_stops_at_fatal_ones() {
        let mut calls = 0;
        let r = call(
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(service_error(503, "ServiceUnavailableException"))
                    } else {
                        Ok(n)
                    }
                }
            },
            |_| {},
        )
        .await;
        assert_eq!(r.unwrap(), 3);
        let mut calls = 0;
        let r: Result<(), _> = call(
            || {
                calls += 1;
                async { Err(service_error(403, "AccessDeniedException")) }
            },
            |_| {},
        )
        .await;
        assert_eq!(classify(&r.unwrap_err()), Class::Fatal);
        assert_eq!(calls, 1, "a fatal error is not retried");
    }

    #[test]
    fn attempts_are_bounded() {
        assert_eq!(attempts(Class::Throttled), THROTTLE_ATTEMPTS);
        assert_eq!(attempts(Class::Transient), TRANSIENT_ATTEMPTS);
        assert_eq!(attempts(Class::TokenExpired), 1);
        assert_eq!(attempts(Class::NotFound), 1);
        assert_eq!(attempts(Class::Fatal), 1);
    }
}
