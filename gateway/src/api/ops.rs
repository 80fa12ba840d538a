//! Probes and metrics for operators.

use std::time::Duration;

use http::{Response, StatusCode};
use serde::Serialize;

use super::AppState;
use super::problem::{Body, Problem, bytes, json};

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The process answers: it is alive.
pub fn health() -> Response<Body> {
    json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Check {
    name: String,
    healthy: bool,
    detail: String,
}

/// The store answers and every sink says it can work. Gaps in the on-call rota are
/// reported as warnings: alerts still go to the coordinators then, so the gateway stays
/// ready, but an operator sees the hours nobody covers.
pub async fn ready(state: &AppState) -> Response<Body> {
    let mut checks = Vec::new();
    let store = tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await;
    checks.push(Check {
        name: "store".into(),
        healthy: matches!(store, Ok(Ok(()))),
        detail: match store {
            Ok(Ok(())) => "answering".into(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 3 s".into(),
        },
    });
    let sinks = state.registry.sinks().cloned().map(|sink| async move {
        let health = tokio::time::timeout(CHECK_TIMEOUT, sink.check()).await;
        let (healthy, detail) = match health {
            Ok(health) => (health.healthy, health.detail),
            Err(_) => (false, "no answer within 3 s".to_string()),
        };
        Check {
            name: format!("sink:{}", sink.target()),
            healthy,
            detail,
        }
    });
    for check in join_all(sinks).await {
        checks.push(check);
    }
    let ready = checks.iter().all(|c| c.healthy);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let warnings: Vec<Check> = state
        .rota
        .gaps()
        .into_iter()
        .map(|gap| Check {
            name: format!("on-call:{}", gap.crt),
            healthy: false,
            detail: gap.to_string(),
        })
        .collect();
    json(
        status,
        &serde_json::json!({
            "status": if ready { "ready" } else { "not-ready" },
            "checks": checks,
            "warnings": warnings,
        }),
    )
}

/// Runs the checks concurrently.
async fn join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(output) = handle.await {
            outputs.push(output);
        }
    }
    outputs
}

pub async fn metrics(state: &AppState) -> Response<Body> {
    match state.store.state_counts().await {
        Ok(states) => bytes(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            state.metrics.render(&states).into_bytes(),
        ),
        Err(e) => Problem::storage(e).into_response(),
    }
}
