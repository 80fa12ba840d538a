//! The care-team gate in front of a beneficiary's data: after the access policy allowed
//! the caller's profile, a professional must also belong to that beneficiary's care team,
//! or ask for an emergency access (*bris de glace*) that the policy allows their profile.

use http::{HeaderMap, Response, StatusCode};
use uuid::Uuid;

use super::AppState;
use super::problem::{Body, Problem};
use super::records::TraceSubject;
use crate::security::care_team::{self, BREAK_GLASS, EmergencyAsked, Standing};
use crate::security::{Access, Actor, Caller, Resource};

/// An emergency access let through, on the request for the route that needs the mode
/// (the DMP's VIHF says *bris de glace*, or *centre 15* for a regulation centre). The
/// reason stays in the access trace: no public text names the VIHF attribute that would
/// carry it.
#[derive(Debug, Clone, Copy)]
pub struct Emergency {
    pub regulation: bool,
}

/// Let through: whose data it is, and the emergency's reason when it is one.
#[derive(Debug, Default)]
pub struct Passed {
    pub subject: Option<TraceSubject>,
    pub emergency: Option<EmergencyAsked>,
}

/// Stopped: the answer, the trace's outcome, and whose data it was.
pub struct Stopped {
    pub response: Response<Body>,
    pub outcome: String,
    pub subject: Option<TraceSubject>,
}

/// The gate for what delivery `delivery` kept.
pub async fn delivery(
    state: &AppState,
    caller: &Caller,
    delivery: &str,
    resource: Resource,
    headers: &HeaderMap,
) -> Result<Passed, Stopped> {
    let Ok(id) = Uuid::parse_str(delivery) else {
        // The route answers that no such delivery exists.
        return Ok(Passed::default());
    };
    let Some((crt_finess_et, beneficiary_ref)) =
        state.store.delivery_subject(id).await.map_err(storage)?
    else {
        return Ok(Passed::default());
    };
    let subject = TraceSubject {
        crt_finess_et,
        beneficiary_ref,
    };
    beneficiary(state, caller, subject, resource, headers).await
}

fn storage(e: crate::store::StoreError) -> Stopped {
    Stopped {
        response: Problem::storage(e).into_response(),
        outcome: "error:storage".into(),
        subject: None,
    }
}

/// The gate for the data of beneficiary `subject`.
pub async fn beneficiary(
    state: &AppState,
    caller: &Caller,
    subject: TraceSubject,
    resource: Resource,
    headers: &HeaderMap,
) -> Result<Passed, Stopped> {
    let asked = care_team::emergency_asked(headers).map_err(|detail| Stopped {
        response: Problem::new(
            StatusCode::BAD_REQUEST,
            "break-glass-reason",
            "Emergency access without a reason",
        )
        .detail(detail)
        .into_response(),
        outcome: "denied:break_glass_reason".into(),
        subject: None,
    })?;
    let crt_finess_et = subject.crt_finess_et.clone();
    if !matches!(caller.actor, Actor::Professional { .. }) {
        return Ok(Passed {
            subject: Some(subject),
            emergency: None,
        });
    }
    let circle = state
        .store
        .latest_record(crt_finess_et.clone(), subject.beneficiary_ref.clone())
        .await
        .map_err(storage)?
        .map(|stored| care_team::care_circle_of(&stored.payload))
        .unwrap_or_default();
    let stopped = |status, slug, title, detail: String, outcome: &str, subject| Stopped {
        response: Problem::new(status, slug, title)
            .detail(detail)
            .into_response(),
        outcome: outcome.into(),
        subject: Some(subject),
    };
    match care_team::standing(caller, &crt_finess_et, &circle, &state.staff) {
        Standing::Member => Ok(Passed {
            subject: Some(subject),
            emergency: None,
        }),
        Standing::NotDelegated => Err(stopped(
            StatusCode::FORBIDDEN,
            "outside-delegation",
            "Forbidden",
            format!(
                "{} names professionals for other CRTs than {crt_finess_et} (delegates_for)",
                caller.principal
            ),
            "denied:delegation",
            subject,
        )),
        Standing::Outside => match asked {
            None => Err(stopped(
                StatusCode::FORBIDDEN,
                "outside-care-team",
                "Forbidden",
                format!(
                    "{} is not in this beneficiary's care team (the care circle of their latest record, the staff of CRT {crt_finess_et}); in an emergency, send {BREAK_GLASS} with the reason",
                    caller.actor.describe()
                ),
                "denied:care_team",
                subject,
            )),
            Some(asked) if asked.regulation && !is_physician(&caller.actor) => Err(stopped(
                StatusCode::FORBIDDEN,
                "regulation-needs-a-physician",
                "Forbidden",
                format!(
                    "{}: a regulation centre's access (centre_15) is a physician's",
                    caller.actor.describe()
                ),
                "denied:regulation",
                subject,
            )),
            Some(asked) => match state
                .policy
                .decide(&caller.actor, resource, Access::BreakGlass)
            {
                Ok(_) => Ok(Passed {
                    subject: Some(subject),
                    emergency: Some(asked),
                }),
                Err(denied) => Err(stopped(
                    StatusCode::FORBIDDEN,
                    "forbidden-by-policy",
                    "Forbidden",
                    denied.to_string(),
                    "denied:break_glass",
                    subject,
                )),
            },
        },
    }
}

fn is_physician(actor: &Actor) -> bool {
    matches!(actor, Actor::Professional { profession, .. } if profession == "physician")
}
