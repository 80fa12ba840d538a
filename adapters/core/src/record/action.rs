//! What a record asks the gateway to do beyond storing it.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// One request carried by the record. Identity checks are not requested: the gateway
/// runs one whenever a request needs a qualified identity that the record does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Produce a document from the record and send it through each channel.
    SendDocument {
        document: DocumentKind,
        to: Vec<Channel>,
    },
    /// Share the care circle, the summary and the documents with the regional platform.
    ShareWithRegion,
    /// Answer a volet 2 admission request that reached the CRT through ViaTrajectoire.
    AnswerAdmission {
        /// ViaTrajectoire's national identifier of the request, as the waiting list gives it.
        request: String,
        decision: AdmissionAnswer,
        /// The place on the waiting list (1 is next), with `waiting_list`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rank: Option<u32>,
        /// The admission date: planned with `accepted`, effective with `admitted`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date: Option<crate::record::Date>,
        /// Why, with `refused` and `cancelled`: a code of JDV_J251
        /// (MotifStatutPersonnePriseChargeESMS).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Ask a care-circle physician for a prescription by MSSanté; the answer that comes
    /// back to the structure's mailbox is linked to this request.
    RequestPrescription {
        /// The DUI's identifier of the request, stable across records: the answer names it.
        request: String,
        /// The care-circle member asked (a physician).
        to: String,
        /// The care-circle member who asks, named in the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_by: Option<String>,
        /// What is asked, as the physician reads it.
        text: String,
    },
}

/// The CRT's answer to an admission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionAnswer {
    /// Received, being looked at.
    Received,
    /// Admissible, on the waiting list at a rank.
    WaitingList,
    /// Admission agreed, at a date.
    Accepted,
    /// The person is accompanied from a date.
    Admitted,
    /// Not admissible, for a reason.
    Refused,
    /// Given up after it was agreed (the person died, entered an EHPAD…), for a reason.
    Cancelled,
}

impl AdmissionAnswer {
    pub const ALL: [AdmissionAnswer; 6] = [
        AdmissionAnswer::Received,
        AdmissionAnswer::WaitingList,
        AdmissionAnswer::Accepted,
        AdmissionAnswer::Admitted,
        AdmissionAnswer::Refused,
        AdmissionAnswer::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AdmissionAnswer::Received => "received",
            AdmissionAnswer::WaitingList => "waiting_list",
            AdmissionAnswer::Accepted => "accepted",
            AdmissionAnswer::Admitted => "admitted",
            AdmissionAnswer::Refused => "refused",
            AdmissionAnswer::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<AdmissionAnswer> {
        AdmissionAnswer::ALL
            .into_iter()
            .find(|d| d.as_str() == text)
    }

    /// No decision comes after these.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            AdmissionAnswer::Admitted | AdmissionAnswer::Refused | AdmissionAnswer::Cancelled
        )
    }
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::SendDocument { .. } => "send_document",
            Action::ShareWithRegion => "share_with_region",
            Action::AnswerAdmission { .. } => "answer_admission",
            Action::RequestPrescription { .. } => "request_prescription",
        }
    }
}

/// Documents the gateway produces from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Dossier de liaison d'urgence (DLU-EHPAD or DLU-DOM, chosen by the placement).
    Dlu,
    /// The personalised support plan.
    Plan,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Dlu => "dlu",
            DocumentKind::Plan => "plan",
        }
    }
}

/// Channels a document can travel through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The beneficiary's DMP.
    Dmp,
    /// MSSanté messages to the care circle (and to the patient mailbox when allowed).
    Mssante,
}

impl Channel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Dmp => "dmp",
            Channel::Mssante => "mssante",
        }
    }
}

/// Written by hand so that a wrong field gets an error at that field: the derived schema
/// of an internally tagged enum is a `oneOf`, whose validators only say that no branch
/// matched.
impl JsonSchema for Action {
    fn schema_name() -> Cow<'static, str> {
        "Action".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let document = generator.subschema_for::<DocumentKind>();
        let channel = generator.subschema_for::<Channel>();
        let decision = generator.subschema_for::<AdmissionAnswer>();
        json_schema!({
            "description": "One request carried by the record. `send_document` needs `document` and `to`; `answer_admission` needs `request` and `decision` (with `rank` for `waiting_list`, `date` for `accepted` and `admitted`, `reason` for `refused` and `cancelled`); `request_prescription` needs `request`, `to` and `text` (`requested_by` optional); `share_with_region` takes no field.",
            "type": "object",
            "properties": {
                "action": {
                    "description": "`send_document`: produce a document and send it through each channel; `share_with_region`: share with the regional platform; `answer_admission`: answer a volet 2 admission request received through ViaTrajectoire; `request_prescription`: ask a care-circle physician for a prescription by MSSanté, the answer being linked to the request.",
                    "enum": ["send_document", "share_with_region", "answer_admission", "request_prescription"]
                },
                "document": document,
                "to": {
                    "description": "`send_document`: the channels; `request_prescription`: the `id` of the care-circle physician asked.",
                    "type": ["array", "string"],
                    "items": channel,
                    "minItems": 1,
                    "uniqueItems": true,
                    "minLength": 1,
                    "maxLength": 64
                },
                "requested_by": {
                    "description": "The `id` of the care-circle member who asks.",
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64
                },
                "text": {
                    "description": "What is asked, in the physician's language.",
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 2000
                },
                "request": {
                    "description": "`answer_admission`: ViaTrajectoire's national identifier of the request (the waiting list's `request_id`); `request_prescription`: the DUI's identifier of the request, which the answer names.",
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64
                },
                "decision": decision,
                "rank": {"type": "integer", "minimum": 1, "maximum": 10000},
                "date": {"type": "string", "format": "date"},
                "reason": {
                    "description": "A code of JDV_J251 (MotifStatutPersonnePriseChargeESMS).",
                    "type": "string",
                    "pattern": "^[0-9]{1,4}$"
                }
            },
            "required": ["action"],
            "additionalProperties": false,
            "allOf": [
                {
                    "if": {
                        "properties": { "action": { "const": "send_document" } },
                        "required": ["action"]
                    },
                    "then": {
                        "required": ["document", "to"],
                        "properties": { "to": { "type": "array" } }
                    },
                    "else": { "properties": { "document": false } }
                },
                {
                    "if": {
                        "properties": { "action": { "const": "request_prescription" } },
                        "required": ["action"]
                    },
                    "then": {
                        "required": ["request", "to", "text"],
                        "properties": { "to": { "type": "string" } }
                    },
                    "else": { "properties": { "requested_by": false, "text": false } }
                },
                {
                    "if": {
                        "properties": { "action": { "enum": ["share_with_region", "answer_admission"] } },
                        "required": ["action"]
                    },
                    "then": { "properties": { "to": false } }
                },
                {
                    "if": {
                        "properties": { "action": { "enum": ["share_with_region", "send_document"] } },
                        "required": ["action"]
                    },
                    "then": { "properties": { "request": false } }
                },
                {
                    "if": {
                        "properties": { "action": { "const": "answer_admission" } },
                        "required": ["action"]
                    },
                    "then": { "required": ["request", "decision"] },
                    "else": {
                        "properties": {
                            "decision": false, "rank": false, "date": false, "reason": false
                        }
                    }
                }
            ]
        })
    }
}
