//! The CDA writer: the header every document shares and the small pieces bodies use.

use crt_core::CrtRecord;
use crt_core::identity::QualifiedIdentity;
use crt_core::record::{Address, ContactRole, Professional, Sex, Timestamp};
use crt_core::xml::XmlWriter;
use uuid::Uuid;

use super::{
    CdaModel, Code, InstanceId, OID_ID_NAT_STRUCT, OID_RPPS, birth_time, facility_type,
    practice_setting, ts,
};

const HL7: &str = "urn:hl7-org:v3";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const ROLE_CODE: &str = "2.16.840.1.113883.5.111";

/// A document being written.
pub struct Cda {
    pub w: XmlWriter,
    /// Entry ids are derived from the document id and the entry's place, so that the same
    /// record renders the same bytes.
    namespace: Uuid,
}

/// The header's inputs.
pub struct Header<'a> {
    pub model: CdaModel,
    pub record: &'a CrtRecord,
    /// The beneficiary's INS and reference traits.
    pub identity: &'a QualifiedIdentity,
    pub id: &'a InstanceId,
    pub set_id: &'a InstanceId,
    pub local_patient_id: &'a InstanceId,
    pub version: u32,
    pub effective_time: &'a Timestamp,
    pub author: &'a Professional,
    pub service_start: &'a Timestamp,
    pub service_stop: Option<&'a Timestamp>,
    /// `documentationOf/serviceEvent/code`.
    pub service_event: (&'a str, &'a str),
    /// The general practitioner, as `participant typeCode="INF"` (DLU).
    pub general_practitioner: Option<&'a Professional>,
    /// The previous version this document replaces.
    pub replaces: Option<&'a InstanceId>,
}

impl Cda {
    pub fn new(id: &InstanceId) -> Cda {
        Cda {
            w: XmlWriter::new(),
            namespace: Uuid::new_v5(&Uuid::NAMESPACE_OID, id.xds().as_bytes()),
        }
    }

    /// A stable UUID for the entry named `place` within this document.
    pub fn entry_id(&self, place: &str) -> String {
        Uuid::new_v5(&self.namespace, place.as_bytes())
            .hyphenated()
            .to_string()
            .to_uppercase()
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.w.close("ClinicalDocument");
        self.w.finish()
    }

    /// `<name code=".." displayName=".." codeSystem=".."/>`.
    pub fn code(&mut self, element: &str, code: &Code) -> &mut Self {
        self.w.empty(
            element,
            &[
                ("code", code.code),
                ("displayName", code.display),
                ("codeSystem", code.system),
            ],
        );
        self
    }

    pub fn template(&mut self, root: &str) -> &mut Self {
        self.w.empty("templateId", &[("root", root)]);
        self
    }

    pub fn templates(&mut self, roots: &[&str]) -> &mut Self {
        for root in roots {
            self.template(root);
        }
        self
    }

    pub fn id(&mut self, place: &str) -> &mut Self {
        let id = self.entry_id(place);
        self.w.empty("id", &[("root", &id)]);
        self
    }

    pub fn loinc(&mut self, element: &str, code: &str, display: &str) -> &mut Self {
        self.w.empty(
            element,
            &[
                ("code", code),
                ("displayName", display),
                ("codeSystem", super::LOINC),
                ("codeSystemName", "LOINC"),
            ],
        );
        self
    }

    pub fn status_completed(&mut self) -> &mut Self {
        self.w.empty("statusCode", &[("code", "completed")]);
        self
    }

    pub fn null(&mut self, element: &str, flavor: &str) -> &mut Self {
        self.w.empty(element, &[("nullFlavor", flavor)]);
        self
    }

    /// An observation's `value` of type BL; unknown (`UNK`) when `None`.
    pub fn boolean_value(&mut self, value: Option<bool>) -> &mut Self {
        match value {
            Some(value) => self.w.empty(
                "value",
                &[
                    ("xsi:type", "BL"),
                    ("value", if value { "true" } else { "false" }),
                ],
            ),
            None => self
                .w
                .empty("value", &[("xsi:type", "BL"), ("nullFlavor", "UNK")]),
        };
        self
    }

    pub fn reference(&mut self, target: &str) -> &mut Self {
        let value = format!("#{target}");
        self.w
            .open("text", &[])
            .empty("reference", &[("value", &value)])
            .close("text");
        self
    }

    pub fn address(&mut self, address: Option<&Address>) -> &mut Self {
        match address {
            None => {
                self.null("addr", "NAV");
            }
            Some(address) => {
                self.w.open("addr", &[]);
                for line in &address.lines {
                    self.w.leaf("streetAddressLine", &[], line);
                }
                self.w
                    .leaf("postalCode", &[], &address.postal_code)
                    .leaf("city", &[], &address.city)
                    .close("addr");
            }
        }
        self
    }

    pub fn telecom_phone(&mut self, phone: &str, usage: &str) -> &mut Self {
        let value = format!("tel:{}", phone.replace([' ', '.'], ""));
        self.w
            .empty("telecom", &[("value", &value), ("use", usage)]);
        self
    }

    pub fn person_name(&mut self, given: &str, family: &str) -> &mut Self {
        self.w
            .open("name", &[])
            .leaf("given", &[], given)
            .leaf("family", &[], family)
            .close("name");
        self
    }

    /// A section's opening: component, section, templates, id, code, title.
    pub fn open_section(
        &mut self,
        templates: &[&str],
        code: (&str, &str),
        title: &str,
    ) -> &mut Self {
        self.w.open("component", &[]).open("section", &[]);
        self.templates(templates);
        self.id(&format!("section:{}", code.0));
        self.loinc("code", code.0, code.1);
        self.w.leaf("title", &[], title);
        self
    }

    pub fn close_section(&mut self) -> &mut Self {
        self.w.close("section").close("component");
        self
    }

    /// A narrative table: header cells, then rows whose first cell may carry a content ID.
    pub fn table(&mut self, headers: &[&str], rows: &[(Option<String>, Vec<String>)]) -> &mut Self {
        self.w
            .open("text", &[])
            .open("table", &[("border", "0")])
            .open("thead", &[])
            .open("tr", &[]);
        for header in headers {
            self.w.leaf("th", &[], header);
        }
        self.w.close("tr").close("thead").open("tbody", &[]);
        for (id, cells) in rows {
            self.w.open("tr", &[]);
            for (i, cell) in cells.iter().enumerate() {
                match (i, id) {
                    (0, Some(id)) => {
                        self.w
                            .open("td", &[])
                            .leaf("content", &[("ID", id)], cell)
                            .close("td");
                    }
                    _ => {
                        self.w.leaf("td", &[], cell);
                    }
                }
            }
            self.w.close("tr");
        }
        self.w.close("tbody").close("table").close("text");
        self
    }

    /// Plain narrative text.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.w.leaf("text", &[], text);
        self
    }

    /// The document's header, from `<ClinicalDocument>` to `<component><structuredBody>`.
    pub fn header(&mut self, h: &Header<'_>) {
        let record = h.record;
        let beneficiary = &record.beneficiary;
        let w = &mut self.w;
        w.declaration()
            .open("ClinicalDocument", &[("xmlns", HL7), ("xmlns:xsi", XSI)]);
        w.empty("realmCode", &[("code", "FR")])
            .empty(
                "typeId",
                &[
                    ("root", "2.16.840.1.113883.1.3"),
                    ("extension", "POCD_HD000040"),
                ],
            )
            .empty("templateId", &[("root", "2.16.840.1.113883.2.8.2.1")])
            .empty("templateId", &[("root", "1.2.250.1.213.1.1.1.1")]);
        match h.model.template() {
            (root, Some(extension)) => {
                w.empty("templateId", &[("root", root), ("extension", extension)])
            }
            (root, None) => w.empty("templateId", &[("root", root)]),
        };
        instance_id(w, "id", h.id);
        let type_code = h.model.type_code();
        self.loinc("code", type_code.code, type_code.display);
        let w = &mut self.w;
        w.leaf("title", &[], h.model.title())
            .empty("effectiveTime", &[("value", &ts(h.effective_time))])
            .empty(
                "confidentialityCode",
                &[
                    ("code", "N"),
                    ("displayName", "Normal"),
                    ("codeSystem", "2.16.840.1.113883.5.25"),
                ],
            )
            .empty("languageCode", &[("code", "fr-FR")]);
        instance_id(w, "setId", h.set_id);
        w.empty("versionNumber", &[("value", &h.version.to_string())]);

        // Patient.
        w.open("recordTarget", &[]).open("patientRole", &[]);
        let ins = &h.identity.ins;
        w.empty(
            "id",
            &[("root", ins.oid.as_str()), ("extension", &ins.number)],
        );
        instance_id(w, "id", h.local_patient_id);
        self.address(beneficiary.address.as_ref());
        for phone in &beneficiary.phones {
            self.telecom_phone(phone, "H");
        }
        // Birth traits are the reference traits (structuration minimale: `BR`); the used
        // name and given name are the DUI's own (`CL`, the only other qualifier allowed).
        let traits = &h.identity.traits;
        let used = &beneficiary.identity;
        let w = &mut self.w;
        w.open("patient", &[("classCode", "PSN")]).open("name", &[]);
        w.leaf("family", &[("qualifier", "BR")], &traits.birth_name)
            .leaf("given", &[], &traits.given_names)
            .leaf("given", &[("qualifier", "BR")], &traits.first_given_name);
        if let Some(name) = &used.used_name {
            w.leaf("family", &[("qualifier", "CL")], name);
        }
        if let Some(name) = &used.used_given_name {
            w.leaf("given", &[("qualifier", "CL")], name);
        }
        w.close("name");
        let (sex, display) = match traits.sex() {
            Sex::Male => ("M", "Masculin"),
            Sex::Female => ("F", "Féminin"),
            Sex::Undetermined => ("UN", "Inconnu"),
        };
        w.empty(
            "administrativeGenderCode",
            &[
                ("code", sex),
                ("displayName", display),
                ("codeSystem", "2.16.840.1.113883.5.1"),
            ],
        )
        .empty("birthTime", &[("value", &birth_time(&traits.birth_date))]);
        if let Some(guardian) = beneficiary
            .contacts
            .iter()
            .find(|c| c.has_role(ContactRole::LegalRepresentative))
        {
            self.w.open("guardian", &[]);
            for phone in guardian.phones.iter().take(1) {
                self.telecom_phone(phone, "H");
            }
            self.w.open("guardianPerson", &[]);
            self.person_name(&guardian.given_name, &guardian.family_name);
            self.w.close("guardianPerson").close("guardian");
        }
        if let Some(place) = &traits.birth_place {
            self.w
                .open("birthplace", &[])
                .open("place", &[])
                .open("addr", &[])
                .leaf("county", &[], place)
                .close("addr")
                .close("place")
                .close("birthplace");
        }
        self.w
            .close("patient")
            .close("patientRole")
            .close("recordTarget");

        // Author.
        self.w
            .open("author", &[])
            .empty("time", &[("value", &ts(h.effective_time))]);
        self.assigned("assignedAuthor", h.author, record, true);
        self.w.close("author");

        // People to call (ECON) and the trusted person (NOK).
        for (role, class) in [
            (ContactRole::EmergencyContact, "ECON"),
            (ContactRole::TrustedPerson, "NOK"),
        ] {
            for contact in beneficiary.contacts.iter().filter(|c| c.has_role(role)) {
                self.w
                    .open("informant", &[])
                    .open("relatedEntity", &[("classCode", class)]);
                match contact.relationship.role_code() {
                    Some((code, display)) => self.w.empty(
                        "code",
                        &[
                            ("code", code),
                            ("displayName", display),
                            ("codeSystem", ROLE_CODE),
                        ],
                    ),
                    None => self.w.empty("code", &[("nullFlavor", "OTH")]),
                };
                self.address(contact.address.as_ref());
                for phone in &contact.phones {
                    self.telecom_phone(phone, "MC");
                }
                self.w.open("relatedPerson", &[]);
                self.person_name(&contact.given_name, &contact.family_name);
                self.w
                    .close("relatedPerson")
                    .close("relatedEntity")
                    .close("informant");
            }
        }

        // Custodian: the structure.
        let crt = &record.crt;
        let id_nat = crt.id_nat_struct();
        self.w
            .open("custodian", &[("typeCode", "CST")])
            .open("assignedCustodian", &[("classCode", "ASSIGNED")])
            .open(
                "representedCustodianOrganization",
                &[("classCode", "ORG"), ("determinerCode", "INSTANCE")],
            )
            .empty("id", &[("root", OID_ID_NAT_STRUCT), ("extension", &id_nat)])
            .leaf("name", &[], &crt.name);
        if let Some(phone) = &crt.phone {
            self.telecom_phone(phone, "WP");
        }
        self.address(crt.address.as_ref());
        self.w
            .close("representedCustodianOrganization")
            .close("assignedCustodian")
            .close("custodian");

        // Legal authenticator: the author.
        self.w
            .open("legalAuthenticator", &[])
            .empty("time", &[("value", &ts(h.effective_time))])
            .empty("signatureCode", &[("code", "S")]);
        self.assigned("assignedEntity", h.author, record, true);
        self.w.close("legalAuthenticator");

        // The general practitioner.
        if let Some(gp) = h.general_practitioner {
            self.w
                .open("participant", &[("typeCode", "INF")])
                .empty(
                    "functionCode",
                    &[
                        ("code", "PCP"),
                        ("displayName", "Médecin Traitant"),
                        ("codeSystem", "2.16.840.1.113883.5.88"),
                    ],
                )
                .open("time", &[("xsi:type", "IVL_TS")])
                .empty("low", &[("value", &ts(h.effective_time))])
                .close("time")
                .open("associatedEntity", &[("classCode", "PROV")]);
            if let Some(rpps) = &gp.rpps {
                self.w.empty(
                    "id",
                    &[("root", OID_RPPS), ("extension", &format!("8{rpps}"))],
                );
            }
            if let Some(phone) = &gp.phone {
                self.telecom_phone(phone, "WP");
            }
            self.w.open("associatedPerson", &[]);
            self.person_name(&gp.given_name, &gp.family_name);
            self.w
                .close("associatedPerson")
                .close("associatedEntity")
                .close("participant");
        }

        // The act documented.
        self.w
            .open("documentationOf", &[])
            .open("serviceEvent", &[]);
        self.loinc("code", h.service_event.0, h.service_event.1);
        self.w
            .open("effectiveTime", &[])
            .empty("low", &[("value", &ts(h.service_start))]);
        match h.service_stop {
            Some(stop) => self.w.empty("high", &[("value", &ts(stop))]),
            None => self.w.empty("high", &[("nullFlavor", "UNK")]),
        };
        self.w
            .close("effectiveTime")
            .open("performer", &[("typeCode", "PRF")]);
        self.assigned("assignedEntity", h.author, record, false);
        self.w
            .close("performer")
            .close("serviceEvent")
            .close("documentationOf");
        if let Some(previous) = h.replaces {
            self.w
                .open("relatedDocument", &[("typeCode", "RPLC")])
                .open("parentDocument", &[]);
            instance_id(&mut self.w, "id", previous);
            self.w.close("parentDocument").close("relatedDocument");
        }

        // The care context.
        let (code, display) = match record.beneficiary.placement {
            crt_core::record::Placement::Home => ("HH", "Soins à domicile"),
            _ => ("IMP", "Hospitalisation (établissement, y compris HAD)"),
        };
        let facility = facility_type(crt.porteur);
        self.w
            .open("componentOf", &[])
            .open("encompassingEncounter", &[])
            .empty(
                "code",
                &[
                    ("code", code),
                    ("displayName", display),
                    ("codeSystem", "2.16.840.1.113883.5.4"),
                ],
            )
            .open("effectiveTime", &[])
            .empty("low", &[("value", &ts(h.service_start))])
            .close("effectiveTime")
            .open("location", &[])
            .open("healthCareFacility", &[]);
        self.code("code", &facility);
        self.w
            .close("healthCareFacility")
            .close("location")
            .close("encompassingEncounter")
            .close("componentOf");

        self.w.open("component", &[]).open("structuredBody", &[]);
    }

    /// `assignedAuthor` / `assignedEntity`: the professional and the structure.
    fn assigned(
        &mut self,
        element: &str,
        professional: &Professional,
        record: &CrtRecord,
        with_code: bool,
    ) {
        self.w.open(element, &[]);
        if let Some(rpps) = &professional.rpps {
            self.w.empty(
                "id",
                &[("root", OID_RPPS), ("extension", &format!("8{rpps}"))],
            );
        }
        if with_code {
            let specialty = professional.profession.author_specialty();
            self.w.empty(
                "code",
                &[
                    ("code", specialty.code),
                    ("displayName", specialty.display),
                    ("codeSystem", specialty.system),
                ],
            );
        }
        if let Some(phone) = &professional.phone {
            self.telecom_phone(phone, "WP");
        }
        self.w.open("assignedPerson", &[]);
        self.person_name(&professional.given_name, &professional.family_name);
        self.w
            .close("assignedPerson")
            .open("representedOrganization", &[]);
        let crt = &record.crt;
        self.w
            .empty(
                "id",
                &[
                    ("root", OID_ID_NAT_STRUCT),
                    ("extension", &crt.id_nat_struct()),
                ],
            )
            .leaf("name", &[], &crt.name);
        self.code("standardIndustryClassCode", &practice_setting());
        self.w.close("representedOrganization").close(element);
    }
}

fn instance_id(w: &mut XmlWriter, element: &str, id: &InstanceId) {
    match &id.extension {
        Some(extension) => w.empty(element, &[("root", &id.root), ("extension", extension)]),
        None => w.empty(element, &[("root", &id.root)]),
    };
}
