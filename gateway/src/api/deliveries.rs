//! `GET /v1/deliveries`, `POST /v1/deliveries/{id}/replay` and artifacts.

use http::{Response, StatusCode};
use serde_json::json;

use super::problem::{Body, Problem, bytes};
use super::{AppState, parse_id};
use crate::store::{DeliveryFilter, DeliveryState, ReplayOutcome, now_millis};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub async fn list(query: Option<&str>, state: &AppState) -> Response<Body> {
    let filter = match parse_filter(query.unwrap_or("")) {
        Ok(filter) => filter,
        Err(detail) => {
            return Problem::new(StatusCode::BAD_REQUEST, "bad-query", "Bad query")
                .detail(detail)
                .into_response();
        }
    };
    let limit = filter.limit;
    match state.store.deliveries(filter).await {
        Ok(deliveries) => {
            let next = (deliveries.len() == limit)
                .then(|| deliveries.last().map(|d| d.id))
                .flatten();
            super::problem::json(
                StatusCode::OK,
                &json!({ "deliveries": deliveries, "next_after": next }),
            )
        }
        Err(e) => Problem::storage(e).into_response(),
    }
}

fn parse_filter(query: &str) -> Result<DeliveryFilter, String> {
    let mut filter = DeliveryFilter {
        limit: DEFAULT_LIMIT,
        ..DeliveryFilter::default()
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "state" => filter.state = Some(value.parse::<DeliveryState>()?),
            "target" => filter.target = Some(value.replace("%3A", ":").replace("%3a", ":")),
            "after" => {
                filter.after = Some(
                    value
                        .parse()
                        .map_err(|_| format!("after={value} is not a delivery id"))?,
                )
            }
            "limit" => {
                filter.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| format!("limit must be 1..={MAX_LIMIT}"))?
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?}; expected state, target, after, limit"
                ));
            }
        }
    }
    Ok(filter)
}

pub async fn replay(id: &str, state: &AppState) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(problem) => return problem.into_response(),
    };
    match state.store.replay(id, now_millis()).await {
        Ok(ReplayOutcome::Replayed) => {
            state.wake.notify_one();
            super::problem::json(
                StatusCode::OK,
                &json!({ "id": id, "state": DeliveryState::Pending }),
            )
        }
        Ok(ReplayOutcome::NotFound) => {
            Problem::not_found(&format!("delivery {id}")).into_response()
        }
        Ok(ReplayOutcome::NotDead(current)) => Problem::new(
            StatusCode::CONFLICT,
            "not-dead",
            "Only dead or held deliveries can be replayed",
        )
        .detail(format!("delivery {id} is {current}"))
        .into_response(),
        Err(e) => Problem::storage(e).into_response(),
    }
}

pub async fn artifact(id: &str, name: &str, state: &AppState) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(problem) => return problem.into_response(),
    };
    match state.store.artifact(id, name.to_string()).await {
        Ok(Some(artifact)) => bytes(StatusCode::OK, &artifact.media_type, artifact.content),
        Ok(None) => {
            Problem::not_found(&format!("artifact {name:?} for delivery {id}")).into_response()
        }
        Err(e) => Problem::storage(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_parsed_and_unknown_ones_refused() {
        let filter = parse_filter("state=dead&target=region%3Aspico&limit=5").expect("parsed");
        assert_eq!(filter.state, Some(DeliveryState::Dead));
        assert_eq!(filter.target.as_deref(), Some("region:spico"));
        assert_eq!(filter.limit, 5);
        assert!(
            parse_filter("state=lost")
                .unwrap_err()
                .contains("expected one of")
        );
        assert!(parse_filter("limit=0").is_err());
        assert!(
            parse_filter("colour=red")
                .unwrap_err()
                .contains("unknown parameter")
        );
    }
}
