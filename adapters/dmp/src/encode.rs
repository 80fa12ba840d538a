//! Requests to the DMP, byte for byte: ITI-41 Provide and Register Document Set-b as
//! SOAP 1.2 with MTOM/XOP, ITI-18 Registry Stored Query, ITI-43 Retrieve Document Set.

use crt_core::multipart::{self, Part};
use crt_core::soap::{SOAP12, WSA};
use crt_core::xml::XmlWriter;
use crt_documents::metadata::Submission;
use uuid::Uuid;

use crate::vihf::SignedVihf;

pub const XDSB: &str = "urn:ihe:iti:xds-b:2007";
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const XOP: &str = "http://www.w3.org/2004/08/xop/include";
pub const QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";
pub const RIM: &str = crt_documents::metadata::RIM;
pub const RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0";
pub const ACTION_PROVIDE: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
pub const ACTION_QUERY: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
pub const ACTION_RETRIEVE: &str = "urn:ihe:iti:2007:RetrieveDocumentSet";
/// ITI-57 Update Document Set: the DMP's TD3.3 (masking, archiving).
pub const ACTION_UPDATE: &str = "urn:ihe:iti:2010:UpdateDocumentSet";
/// TD0.2, the DMP's "test d'existence": HL7 v3 Patient Registry Get Demographics.
pub const ACTION_DMP_STATUS: &str = "urn:hl7-org:v3:PRPA_IN201307UV02";
pub const HL7: &str = "urn:hl7-org:v3";
/// The FindDocuments stored query.
pub const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";

/// A document attached to a submission.
pub struct Attachment<'a> {
    pub entry_uuid: &'a str,
    pub mime_type: &'a str,
    pub bytes: &'a [u8],
}

/// An HTTP request body and its Content-Type.
pub struct Request {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The SOAP envelope: WS-Addressing, the VIHF in WS-Security, and a body.
fn envelope(
    action: &str,
    to: &str,
    message_id: Uuid,
    vihf: &SignedVihf,
    body: impl FnOnce(&mut XmlWriter),
) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.declaration()
        .open(
            "soap:Envelope",
            &[("xmlns:soap", SOAP12), ("xmlns:wsa", WSA)],
        )
        .open("soap:Header", &[])
        .leaf("wsa:Action", &[("soap:mustUnderstand", "true")], action)
        .leaf("wsa:MessageID", &[], &format!("urn:uuid:{message_id}"))
        .leaf("wsa:To", &[], to)
        .open(
            "wsse:Security",
            &[("xmlns:wsse", WSSE), ("soap:mustUnderstand", "true")],
        )
        .raw(&vihf.xml)
        .close("wsse:Security")
        .close("soap:Header")
        .open("soap:Body", &[]);
    body(&mut w);
    w.close("soap:Body").close("soap:Envelope");
    w.finish()
}

fn mtom(action: &str, message_id: Uuid, root: Vec<u8>, attachments: Vec<Part>) -> Request {
    let boundary = format!("MIMEBoundary_{}", message_id.simple());
    let mut parts = vec![Part::new(
        &[
            (
                "Content-Type",
                "application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"",
            ),
            ("Content-Transfer-Encoding", "binary"),
            ("Content-ID", "<root.message@crt-gateway>"),
        ],
        root,
    )];
    parts.extend(attachments);
    Request {
        content_type: format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"{boundary}\"; start=\"<root.message@crt-gateway>\"; start-info=\"application/soap+xml\"; action=\"{action}\""
        ),
        body: multipart::write(&boundary, &parts),
    }
}

fn content_id(index: usize) -> String {
    format!("document{}@crt-gateway", index + 1)
}

/// ITI-41: the submission and its documents.
pub fn provide_and_register(
    submission: &Submission,
    attachments: &[Attachment<'_>],
    vihf: &SignedVihf,
    to: &str,
    message_id: Uuid,
) -> Request {
    let root = envelope(ACTION_PROVIDE, to, message_id, vihf, |w| {
        w.open(
            "xdsb:ProvideAndRegisterDocumentSetRequest",
            &[("xmlns:xdsb", XDSB)],
        );
        submission.write(w);
        for (i, attachment) in attachments.iter().enumerate() {
            w.open("xdsb:Document", &[("id", attachment.entry_uuid)])
                .empty(
                    "xop:Include",
                    &[
                        ("xmlns:xop", XOP),
                        ("href", &format!("cid:{}", content_id(i))),
                    ],
                )
                .close("xdsb:Document");
        }
        w.close("xdsb:ProvideAndRegisterDocumentSetRequest");
    });
    let parts = attachments
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Part::new(
                &[
                    ("Content-Type", a.mime_type),
                    ("Content-Transfer-Encoding", "binary"),
                    ("Content-ID", &format!("<{}>", content_id(i))),
                ],
                a.bytes.to_vec(),
            )
        })
        .collect();
    mtom(ACTION_PROVIDE, message_id, root, parts)
}

/// TD0.2: does the patient whose INS is `ins` have a DMP, and is it open. An HL7 v3
/// `PRPA_IN201307UV02` query by patient identifier, as the public DMP implementations send
/// it (the DMP integration guide is not public; `docs/documents.md` states the contract).
pub fn dmp_status(
    ins: &crt_core::record::Ins,
    sender: &str,
    vihf: &SignedVihf,
    to: &str,
    message_id: Uuid,
) -> Request {
    let creation = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let body = envelope(ACTION_DMP_STATUS, to, message_id, vihf, |w| {
        w.open(
            "hl7:PRPA_IN201307UV02",
            &[("xmlns:hl7", HL7), ("ITSVersion", "XML_1.0")],
        )
        .empty("hl7:id", &[("root", &message_id.to_string())])
        .empty("hl7:creationTime", &[("value", &creation)])
        .empty(
            "hl7:interactionId",
            &[
                ("root", "2.16.840.1.113883.1.6"),
                ("extension", "PRPA_IN201307UV02"),
            ],
        )
        .empty("hl7:processingCode", &[("code", "P")])
        .empty("hl7:processingModeCode", &[("code", "T")])
        .empty("hl7:acceptAckCode", &[("code", "AL")])
        .open("hl7:receiver", &[("typeCode", "RCV")])
        .open(
            "hl7:device",
            &[("classCode", "DEV"), ("determinerCode", "INSTANCE")],
        )
        .empty("hl7:id", &[("root", "urn:dmp")])
        .close("hl7:device")
        .close("hl7:receiver")
        .open("hl7:sender", &[("typeCode", "SND")])
        .open(
            "hl7:device",
            &[("classCode", "DEV"), ("determinerCode", "INSTANCE")],
        )
        .empty("hl7:id", &[("root", sender)])
        .close("hl7:device")
        .close("hl7:sender")
        .open(
            "hl7:controlActProcess",
            &[("classCode", "CACT"), ("moodCode", "EVN")],
        )
        .empty(
            "hl7:code",
            &[
                ("code", "PRPA_TE201307UV02"),
                ("codeSystem", "2.16.840.1.113883.1.6"),
            ],
        )
        .open("hl7:queryByParameter", &[])
        .empty("hl7:queryId", &[("root", &message_id.to_string())])
        .empty("hl7:statusCode", &[("code", "new")])
        .empty("hl7:responsePriorityCode", &[("code", "I")])
        .open("hl7:parameterList", &[])
        .open("hl7:patientIdentifier", &[])
        .empty(
            "hl7:value",
            &[("root", ins.oid.as_str()), ("extension", &ins.number)],
        )
        .leaf("hl7:semanticsText", &[], "Patient.id")
        .close("hl7:patientIdentifier")
        .close("hl7:parameterList")
        .close("hl7:queryByParameter")
        .close("hl7:controlActProcess")
        .close("hl7:PRPA_IN201307UV02");
    });
    Request {
        content_type: format!(
            "application/soap+xml; charset=UTF-8; action=\"{ACTION_DMP_STATUS}\""
        ),
        body,
    }
}

/// ITI-57: a submission set carrying new metadata for documents the registry holds (a new
/// version of their DocumentEntry, under their logical id) or changes of their
/// availability. No document travels: plain SOAP 1.2.
pub fn update_document_set(
    submission: &Submission,
    vihf: &SignedVihf,
    to: &str,
    message_id: Uuid,
) -> Request {
    let body = envelope(ACTION_UPDATE, to, message_id, vihf, |w| submission.write(w));
    Request {
        content_type: format!("application/soap+xml; charset=UTF-8; action=\"{ACTION_UPDATE}\""),
        body,
    }
}

/// ITI-18 FindDocuments for a patient, approved documents.
pub fn find_documents(patient_id: &str, vihf: &SignedVihf, to: &str, message_id: Uuid) -> Request {
    let body = envelope(ACTION_QUERY, to, message_id, vihf, |w| {
        w.open(
            "query:AdhocQueryRequest",
            &[("xmlns:query", QUERY), ("xmlns:rim", RIM)],
        )
        .empty(
            "query:ResponseOption",
            &[
                ("returnType", "LeafClass"),
                ("returnComposedObjects", "true"),
            ],
        )
        .open("rim:AdhocQuery", &[("id", FIND_DOCUMENTS)]);
        for (name, value) in [
            ("$XDSDocumentEntryPatientId", format!("'{patient_id}'")),
            (
                "$XDSDocumentEntryStatus",
                "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')".to_string(),
            ),
        ] {
            w.open("rim:Slot", &[("name", name)])
                .open("rim:ValueList", &[])
                .leaf("rim:Value", &[], &value)
                .close("rim:ValueList")
                .close("rim:Slot");
        }
        w.close("rim:AdhocQuery").close("query:AdhocQueryRequest");
    });
    Request {
        content_type: format!("application/soap+xml; charset=UTF-8; action=\"{ACTION_QUERY}\""),
        body,
    }
}

/// ITI-43 for documents of one repository.
pub fn retrieve(
    repository: &str,
    unique_ids: &[&str],
    vihf: &SignedVihf,
    to: &str,
    message_id: Uuid,
) -> Request {
    let body = envelope(ACTION_RETRIEVE, to, message_id, vihf, |w| {
        w.open("xdsb:RetrieveDocumentSetRequest", &[("xmlns:xdsb", XDSB)]);
        for id in unique_ids {
            w.open("xdsb:DocumentRequest", &[])
                .leaf("xdsb:RepositoryUniqueId", &[], repository)
                .leaf("xdsb:DocumentUniqueId", &[], id)
                .close("xdsb:DocumentRequest");
        }
        w.close("xdsb:RetrieveDocumentSetRequest");
    });
    Request {
        content_type: format!("application/soap+xml; charset=UTF-8; action=\"{ACTION_RETRIEVE}\""),
        body,
    }
}
