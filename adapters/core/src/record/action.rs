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
    /// Send the volet 2 admission request through ViaTrajectoire.
    RequestAdmission,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::SendDocument { .. } => "send_document",
            Action::ShareWithRegion => "share_with_region",
            Action::RequestAdmission => "request_admission",
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
        json_schema!({
            "description": "One request carried by the record. `send_document` needs `document` and `to`; the other actions take no field.",
            "type": "object",
            "properties": {
                "action": {
                    "description": "`send_document`: produce a document and send it through each channel; `share_with_region`: share with the regional platform; `request_admission`: send the volet 2 admission through ViaTrajectoire.",
                    "enum": ["send_document", "share_with_region", "request_admission"]
                },
                "document": document,
                "to": {
                    "type": "array",
                    "items": channel,
                    "minItems": 1,
                    "uniqueItems": true
                }
            },
            "required": ["action"],
            "additionalProperties": false,
            "if": {
                "properties": { "action": { "const": "send_document" } },
                "required": ["action"]
            },
            "then": { "required": ["document", "to"] },
            "else": { "properties": { "document": false, "to": false } }
        })
    }
}
