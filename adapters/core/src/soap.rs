//! SOAP 1.2 as the national teleservices speak it: the envelope's body and typed faults.

use crate::sink::DeliveryError;
use crate::xml::{self, Element, Limits, XmlError};

pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
pub const SIRAM: &str = "urn:siram";

/// A SOAP 1.2 fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// `Sender` (and `VersionMismatch`, `MustUnderstand`): the request is at fault and will
    /// fail again; `Receiver`: the service is, and trying later can work.
    pub sender: bool,
    /// `Subcode/Value` without its prefix.
    pub subcode: Option<String>,
    pub reason: String,
    /// A detail code (`siram:Erreur/@code` for the teleservices that use it).
    pub code: Option<String>,
    pub detail: Option<String>,
}

impl SoapFault {
    /// The delivery error a fault stands for.
    pub fn into_delivery_error(self, service: &str) -> DeliveryError {
        let code = format!(
            "soap-fault:{}",
            self.code
                .as_deref()
                .or(self.subcode.as_deref())
                .unwrap_or("unknown")
        );
        let message = format!(
            "{service} {} fault: {}{}",
            if self.sender { "Sender" } else { "Receiver" },
            self.reason,
            self.detail.map(|d| format!(" ({d})")).unwrap_or_default()
        );
        if self.sender {
            DeliveryError::final_error(code, message)
        } else {
            DeliveryError::retryable(code, message)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    #[error("the answer is not readable XML: {0}")]
    Xml(#[from] XmlError),
    #[error("SOAP fault {}: {}", .0.code.as_deref().or(.0.subcode.as_deref()).unwrap_or("(no code)"), .0.reason)]
    Fault(SoapFault),
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

/// Parses an envelope and returns its Body, or the fault it carries.
pub fn body(bytes: &[u8], limits: Limits) -> Result<Element, SoapError> {
    let envelope = xml::parse(bytes, limits)?;
    if envelope.is(SOAP11, "Envelope") {
        return Err(SoapError::Unexpected(
            "a SOAP 1.1 envelope; SOAP 1.2 was expected".into(),
        ));
    }
    if !envelope.is(SOAP12, "Envelope") {
        return Err(SoapError::Unexpected(format!(
            "root element {{{}}}{} is not a SOAP 1.2 Envelope",
            envelope.namespace.as_deref().unwrap_or(""),
            envelope.name
        )));
    }
    let body = envelope
        .children
        .into_iter()
        .find(|c| c.is(SOAP12, "Body"))
        .ok_or_else(|| SoapError::Unexpected("no SOAP Body".into()))?;
    if let Some(fault) = body.child(SOAP12, "Fault") {
        return Err(SoapError::Fault(fault_of(fault)));
    }
    Ok(body)
}

fn fault_of(fault: &Element) -> SoapFault {
    let code = fault.child(SOAP12, "Code");
    let value = code
        .and_then(|c| c.child_text(SOAP12, "Value"))
        .unwrap_or("");
    let subcode = code
        .and_then(|c| c.child(SOAP12, "Subcode"))
        .and_then(|s| s.child_text(SOAP12, "Value"))
        .map(|v| v.rsplit(':').next().unwrap_or(v).to_string());
    let reason = fault
        .child(SOAP12, "Reason")
        .and_then(|r| r.child_text(SOAP12, "Text"))
        .unwrap_or("")
        .to_string();
    let detail = fault.child(SOAP12, "Detail");
    let error = detail.and_then(|d| d.children.first());
    SoapFault {
        sender: value.ends_with("Sender")
            || value.ends_with("VersionMismatch")
            || value.ends_with("MustUnderstand"),
        subcode,
        reason,
        code: error.and_then(|e| e.attribute("code")).map(str::to_string),
        detail: error
            .map(|e| e.text.trim().to_string())
            .filter(|t| !t.is_empty()),
    }
}

/// Writes a SOAP 1.2 fault envelope (for simulators).
pub fn fault_envelope(
    code: &str,
    subcode: &str,
    reason: &str,
    detail_code: Option<&str>,
) -> Vec<u8> {
    let mut w = xml::XmlWriter::new();
    w.declaration()
        .open("soap:Envelope", &[("xmlns:soap", SOAP12)])
        .open("soap:Body", &[])
        .open("soap:Fault", &[])
        .open("soap:Code", &[])
        .leaf("soap:Value", &[], &format!("soap:{code}"))
        .open("soap:Subcode", &[])
        .leaf(
            "soap:Value",
            &[("xmlns:siram", SIRAM)],
            &format!("siram:{subcode}"),
        )
        .close("soap:Subcode")
        .close("soap:Code")
        .open("soap:Reason", &[])
        .leaf("soap:Text", &[("xml:lang", "fr")], reason)
        .close("soap:Reason");
    if let Some(code) = detail_code {
        w.open("soap:Detail", &[])
            .leaf(
                "siram:Erreur",
                &[
                    ("xmlns:siram", SIRAM),
                    ("severite", "erreur"),
                    ("code", code),
                ],
                reason,
            )
            .close("soap:Detail");
    }
    w.close("soap:Fault")
        .close("soap:Body")
        .close("soap:Envelope");
    w.finish()
}
