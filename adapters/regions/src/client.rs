//! The regional platforms' FHIR wire: mutual TLS, an OAuth2 token, one transaction per
//! operation (one per note for the liaison book), and the Cahier de liaison's note search
//! to read partners' entries back.

use base64::Engine;
use bytes::Bytes;
use crt_core::fhir_json::outcome_diagnostics;
use crt_core::http::{HttpError, HttpsClient};
use crt_core::oauth::{Access, AccessError, ClientCredentials, TokenError, encode};
use crt_core::record::{LiaisonKind, LiaisonTopic};
use crt_core::sink::BoxFuture;
use http::Method;
use serde_json::Value;

use crate::config::PlatformConfig;
use crate::dialect::Dialect;
use crate::platform::{PartnerEntry, PlatformError, RegionalPlatform, Written};
use crate::share::{CDL_IS_EMERGENCY, NOTE_TYPE, Share, own_entry_system};

/// The FHIR implementation of [`RegionalPlatform`], in one platform's dialect.
pub struct FhirPlatform {
    dialect: Dialect,
    base: String,
    credentials: ClientCredentials,
    http: HttpsClient,
}

impl FhirPlatform {
    pub fn new(dialect: Dialect, config: &PlatformConfig) -> Result<Self, AccessError> {
        let connection = Access {
            section: dialect.section,
            given: &config.access,
            secret_variable: dialect.secret_variable,
            certificate_required: true,
            timeout: config.retry.timeout,
            max_answer_bytes: config.max_answer_bytes,
        }
        .connect()?;
        Ok(FhirPlatform {
            dialect,
            base: connection.base,
            credentials: connection.credentials,
            http: connection.http,
        })
    }

    fn unavailable(&self, message: String) -> PlatformError {
        PlatformError::Unavailable {
            platform: self.dialect.name.to_string(),
            message,
        }
    }

    fn http_error(&self, e: HttpError) -> PlatformError {
        let message = e.to_string();
        match e.into_delivery_error().class {
            crt_core::sink::ErrorClass::Retryable => self.unavailable(message),
            crt_core::sink::ErrorClass::Final | crt_core::sink::ErrorClass::Held => {
                PlatformError::Answer {
                    platform: self.dialect.name.to_string(),
                    message,
                }
            }
        }
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, PlatformError> {
        let token = match self.credentials.token(&self.http).await {
            Ok(token) => token,
            Err(TokenError::Http(e)) => return Err(self.http_error(e)),
            Err(e) => {
                return Err(PlatformError::Refused {
                    platform: self.dialect.name.to_string(),
                    status: 401,
                    diagnostics: e.to_string(),
                });
            }
        };
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            ("authorization", bearer.as_str()),
            ("accept", "application/fhir+json"),
        ];
        if body.is_some() {
            headers.push(("content-type", "application/fhir+json"));
        }
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let answer = self
            .http
            .send(method, url, &headers, body)
            .await
            .map_err(|e| self.http_error(e))?;
        if !answer.status.is_success() {
            return Err(PlatformError::Refused {
                platform: self.dialect.name.to_string(),
                status: answer.status.as_u16(),
                diagnostics: outcome_diagnostics(&answer.body),
            });
        }
        serde_json::from_slice(&answer.body).map_err(|e| PlatformError::Answer {
            platform: self.dialect.name.to_string(),
            message: format!("not JSON: {e}"),
        })
    }

    /// A link of a search answer, which servers may give relative to their origin.
    fn absolute(&self, link: &str) -> String {
        if !link.starts_with('/') {
            return link.to_string();
        }
        let after_scheme = self.base.find("://").map_or(0, |i| i + 3);
        let origin_end = self.base[after_scheme..]
            .find('/')
            .map_or(self.base.len(), |i| after_scheme + i);
        format!("{}{link}", &self.base[..origin_end])
    }

    /// Posts a transaction and counts what the platform created and updated.
    pub async fn transaction(&self, bundle: &Value) -> Result<Written, PlatformError> {
        let response = self.call(Method::POST, &self.base, Some(bundle)).await?;
        if response["type"] != "transaction-response" {
            return Err(PlatformError::Answer {
                platform: self.dialect.name.to_string(),
                message: "expected a transaction-response Bundle".into(),
            });
        }
        let mut written = Written::default();
        for entry in response["entry"].as_array().into_iter().flatten() {
            match entry["response"]["status"].as_str().unwrap_or_default() {
                s if s.starts_with("201") => written.created += 1,
                s if s.starts_with("200") => written.updated += 1,
                other => {
                    return Err(PlatformError::Answer {
                        platform: self.dialect.name.to_string(),
                        message: format!("an entry answered {other:?}"),
                    });
                }
            }
        }
        Ok(written)
    }

    /// The resources of `kind` holding the identifier `system|value` (a searchset
    /// Bundle's resources): what an operator reads back to see what the platform holds.
    pub async fn find(
        &self,
        kind: &str,
        system: &str,
        value: &str,
    ) -> Result<Vec<Value>, PlatformError> {
        let url = format!(
            "{}/{kind}?identifier={}",
            self.base,
            encode(&format!("{system}|{value}"))
        );
        let answer = self.call(Method::GET, &url, None).await?;
        Ok(answer["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"].clone())
            .collect())
    }

    /// Every page of the liaison book's notes changed after the cursor, with their
    /// patients: `DocumentReference?type=<TRE_R234>|&_lastUpdated=gt<cursor>&_include=
    /// DocumentReference:subject` (flux 4 of the Cahier de liaison guide; `type` keeps the
    /// notes apart from the documents of the summary).
    async fn notes(&self, cursor: Option<&str>) -> Result<(Vec<Value>, Vec<Value>), PlatformError> {
        let mut url = format!(
            "{}/DocumentReference?type={}&_include=DocumentReference:subject&_count=200",
            self.base,
            encode(&format!("{NOTE_TYPE}|"))
        );
        if let Some(cursor) = cursor {
            url.push_str(&format!("&_lastUpdated={}", encode(&format!("gt{cursor}"))));
        }
        let mut matches = Vec::new();
        let mut included = Vec::new();
        let mut next = Some(url);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 1000 {
                break;
            }
            let page = self.call(Method::GET, &url, None).await?;
            for entry in page["entry"].as_array().into_iter().flatten() {
                match entry["search"]["mode"].as_str() {
                    Some("include") => included.push(entry["resource"].clone()),
                    _ => matches.push(entry["resource"].clone()),
                }
            }
            next = page["link"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str())
                .map(|next| self.absolute(next));
        }
        Ok((matches, included))
    }
}

/// A partner's note, or `None` when it is the gateway's own or outside the contract.
pub fn partner_entry(note: &Value, included: &[Value]) -> Option<PartnerEntry> {
    let subject = note["subject"]["reference"].as_str()?;
    let patient = included.iter().find(|p| {
        p["resourceType"] == "Patient"
            && subject == format!("Patient/{}", p["id"].as_str().unwrap_or_default())
    })?;
    // The beneficiary's identifier the gateway gave them: the one whose system has an
    // own-entry counterpart (arc 3 of a structure's root).
    let (patient_system, beneficiary) = patient["identifier"]
        .as_array()?
        .iter()
        .filter_map(|i| Some((i["system"].as_str()?, i["value"].as_str()?)))
        .find(|(system, _)| own_entry_system(system).is_some() && system.starts_with("urn:oid:"))?;
    let own = own_entry_system(patient_system)?;
    if note["masterIdentifier"]["system"] == own.as_str() {
        return None;
    }
    let emergency = note["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["url"] == CDL_IS_EMERGENCY && e["valueBoolean"] == true);
    let kind = if emergency {
        LiaisonKind::Alert
    } else {
        LiaisonKind::Note
    };
    let title = note["description"].as_str().unwrap_or_default();
    let topic = LiaisonTopic::ALL
        .into_iter()
        .find(|t| t.label() == title)
        .unwrap_or(LiaisonTopic::Other);
    let text = note["content"]
        .as_array()?
        .iter()
        .filter_map(|c| note_text(&c["attachment"]))
        .collect::<Vec<_>>()
        .join("\n");
    let author = &note["author"][0];
    Some(PartnerEntry {
        remote_id: format!("DocumentReference/{}", note["id"].as_str()?),
        patient_system: patient_system.to_string(),
        beneficiary: beneficiary.to_string(),
        kind,
        topic,
        author: author["display"]
            .as_str()
            .or_else(|| author["reference"].as_str())
            .unwrap_or("unknown")
            .to_string(),
        written_at: note["date"].as_str().unwrap_or_default().to_string(),
        text,
        changed_at: note["meta"]["lastUpdated"].as_str()?.to_string(),
    })
}

/// The text of a note's attachment: a `text/*` attachment's data, read as UTF-8 or, when
/// it is not, as ISO-8859-1 (the guide's own example is); a reference to the content when
/// the platform left it out of the search (`attachment.url`).
fn note_text(attachment: &Value) -> Option<String> {
    let content_type = attachment["contentType"].as_str().unwrap_or("text/plain");
    if !content_type.starts_with("text/") {
        return attachment["title"]
            .as_str()
            .map(|title| format!("[{content_type}: {title}]"));
    }
    match attachment["data"].as_str() {
        Some(data) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()?;
            Some(match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => e.into_bytes().iter().map(|b| char::from(*b)).collect(),
            })
        }
        None => attachment["url"]
            .as_str()
            .map(|url| format!("[text at {url}]")),
    }
}

impl RegionalPlatform for FhirPlatform {
    fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    fn base_url(&self) -> &str {
        &self.base
    }

    fn share_care_circle<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>> {
        Box::pin(async move { self.transaction(share.care_circle()).await })
    }

    fn push_summary<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>> {
        Box::pin(async move { self.transaction(share.summary()).await })
    }

    fn post_entries<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>> {
        Box::pin(async move {
            let mut written = Written::default();
            for bundle in share.entries() {
                written.add(&self.transaction(bundle).await?);
            }
            Ok(written)
        })
    }

    fn publish_planning<'a>(
        &'a self,
        share: &'a Share,
    ) -> BoxFuture<'a, Result<Written, PlatformError>> {
        Box::pin(async move {
            match share.planning() {
                Some(bundle) => self.transaction(bundle).await,
                None => Ok(Written::default()),
            }
        })
    }

    fn partner_entries<'a>(
        &'a self,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<PartnerEntry>, PlatformError>> {
        Box::pin(async move {
            let (matches, included) = self.notes(cursor).await?;
            Ok(matches
                .iter()
                .filter_map(|note| partner_entry(note, &included))
                .collect())
        })
    }
}
