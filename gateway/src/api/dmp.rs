//! Consulting a beneficiary's DMP for a professional of their care team:
//!
//! - `GET /v1/beneficiaries/{crt}/{local_id}/dmp[?type=LOINC]`: the approved documents the
//!   DMP shows this professional (ITI-18), masked ones left out by the DMP;
//! - `GET /v1/beneficiaries/{crt}/{local_id}/dmp/{unique_id}`: one document (ITI-43).
//!
//! The VIHF names the professional who calls (from the beneficiary's care circle when it
//! names them), the access mode (*bris de glace* when the care-team gate let an emergency
//! through, *centre 15* when a regulation centre's physician asked) and how they authenticated: through Pro Santé Connect the DMP opens documents;
//! on a system's word alone it does not, and its refusal is shown as it is.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use super::AppState;
use super::gate::Emergency;
use super::problem::{Body, Problem};
use crate::security::{Actor, Caller};
use crt_core::CrtRecord;
use crt_core::record::{CareRole, Profession, Professional};
use crt_dmp::consult::{ConsultError, Consultation};
use crt_dmp::vihf::AccessMode;

/// What the route needs from the request: who calls, in which mode, about whom.
struct Context {
    record: CrtRecord,
    professional: Professional,
    mode: AccessMode,
    reinforced: bool,
}

async fn context(
    crt: &str,
    local_id: &str,
    request: &Request<Incoming>,
    state: &AppState,
) -> Result<Context, Response<Body>> {
    let caller = request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| Problem::internal("no caller on an authenticated route").into_response())?;
    let Actor::Professional { id, profession, .. } = &caller.actor else {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "dmp-needs-a-professional",
            "Forbidden",
        )
        .detail("the DMP is consulted by a professional named in person, not by a system")
        .into_response());
    };
    let payload = match state
        .store
        .latest_record(crt.to_string(), local_id.to_string())
        .await
    {
        Ok(Some(stored)) => stored.payload,
        Ok(None) => {
            return Err(
                Problem::not_found(&format!("beneficiary {local_id} of CRT {crt}")).into_response(),
            );
        }
        Err(e) => return Err(Problem::storage(e).into_response()),
    };
    let record: CrtRecord = serde_json::from_slice(&payload)
        .map_err(|e| Problem::internal(format!("stored record: {e}")).into_response())?;
    let rpps = id.strip_prefix('8').unwrap_or(id);
    let Some(profession) = profession_of(profession) else {
        return Err(
            Problem::new(StatusCode::FORBIDDEN, "dmp-needs-a-profession", "Forbidden")
                .detail(format!("{profession} is not a profession the DMP knows"))
                .into_response(),
        );
    };
    // The care circle names the professional with their names; anyone else (the CRT's
    // staff, an emergency) is named by their identifier.
    let professional = record
        .care_circle
        .iter()
        .find(|member| member.rpps.as_deref() == Some(rpps))
        .cloned()
        .unwrap_or_else(|| Professional {
            id: id.clone(),
            rpps: Some(rpps.to_string()),
            family_name: id.clone(),
            given_name: String::new(),
            profession,
            specialty: caller.specialty.clone(),
            role: CareRole::Other,
            organisation: None,
            mssante_address: None,
            phone: None,
        });
    Ok(Context {
        record,
        professional,
        mode: match request.extensions().get::<Emergency>() {
            Some(Emergency { regulation: true }) => AccessMode::Regulation,
            Some(Emergency { regulation: false }) => AccessMode::BreakGlass,
            None => AccessMode::Normal,
        },
        reinforced: caller.assurance.is_some(),
    })
}

impl Context {
    fn consultation(&self) -> Consultation<'_> {
        Consultation {
            record: &self.record,
            professional: &self.professional,
            mode: self.mode,
            reinforced: self.reinforced,
        }
    }
}

/// The DMP's sink and the consultation's context, or the answer that stops the route.
async fn prepare(
    crt: &str,
    local_id: &str,
    request: &Request<Incoming>,
    state: &AppState,
) -> Result<(std::sync::Arc<crt_dmp::DmpSink>, Context), Response<Body>> {
    let dmp = state.registry.dmp().cloned().ok_or_else(unavailable)?;
    Ok((dmp, context(crt, local_id, request, state).await?))
}

fn profession_of(text: &str) -> Option<Profession> {
    serde_json::from_value(serde_json::Value::from(text)).ok()
}

fn unavailable() -> Response<Body> {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "dmp-not-configured",
        "DMP not configured",
    )
    .detail("the dmp target is off ([sinks.dmp] enabled = false)")
    .into_response()
}

/// The DMP's answer, as it is: a refusal of access names the DMP's error.
fn refused(error: ConsultError) -> Response<Body> {
    match error {
        ConsultError::NotQualified => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "identity-not-qualified",
            "Identity not qualified",
        )
        .detail(error.to_string())
        .into_response(),
        ConsultError::Dmp(e) => {
            Problem::new(StatusCode::BAD_GATEWAY, "dmp-refused", "The DMP answered")
                .detail(e.to_string())
                .into_response()
        }
    }
}

pub async fn search(
    crt: &str,
    local_id: &str,
    request: Request<Incoming>,
    state: &AppState,
) -> Response<Body> {
    let (dmp, context) = match prepare(crt, local_id, &request, state).await {
        Ok(prepared) => prepared,
        Err(response) => return response,
    };
    let wanted_type = crt_core::oauth::parse_form(request.uri().query().unwrap_or_default())
        .into_iter()
        .find(|(key, _)| key == "type")
        .map(|(_, value)| value);
    match dmp.search(&context.consultation()).await {
        Ok(found) => {
            let documents: Vec<_> = found
                .into_iter()
                .filter(|f| wanted_type.as_ref().is_none_or(|t| &f.type_code == t))
                .map(|f| {
                    json!({
                        "unique_id": f.unique_id,
                        "type_code": f.type_code,
                        "status": f.status,
                        "confidentiality": f.confidentiality,
                        "size": f.size,
                        "hash": f.hash,
                        "repository": f.repository,
                        "version": f.version,
                    })
                })
                .collect();
            super::problem::json(
                StatusCode::OK,
                &json!({
                    "crt": crt,
                    "beneficiary": local_id,
                    "mode": context.mode,
                    "documents": documents,
                }),
            )
        }
        Err(e) => refused(e),
    }
}

pub async fn document(
    crt: &str,
    local_id: &str,
    unique_id: &str,
    request: Request<Incoming>,
    state: &AppState,
) -> Response<Body> {
    let (dmp, context) = match prepare(crt, local_id, &request, state).await {
        Ok(prepared) => prepared,
        Err(response) => return response,
    };
    match dmp.read(&context.consultation(), unique_id).await {
        Ok(Some((media_type, content))) => {
            super::problem::bytes(StatusCode::OK, &media_type, content)
        }
        Ok(None) => Problem::not_found(&format!("document {unique_id} in the DMP")).into_response(),
        Err(e) => refused(e),
    }
}
