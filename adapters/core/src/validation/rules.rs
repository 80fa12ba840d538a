//! Rules over a structurally valid record that a JSON Schema cannot express.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate, Utc};

use super::{RecordRule, Violations};
use crate::identifiers::{check_finess, check_rpps};
use crate::record::{
    Action, AdmissionAnswer, CareRole, ContactRole, CrtRecord, DecisionOutcome, DocumentKind,
    IdentityStatus,
};

/// The rules every record must satisfy, whatever the gateway does with it.
pub(super) struct CoreRules;

impl RecordRule for CoreRules {
    fn check(&self, record: &CrtRecord, out: &mut Violations) {
        identifiers(record, out);
        identity(record, out);
        unique_ids(record, out);
        references(record, out);
        single_roles(record, out);
        volet2_dates(record, out);
        other_dates(record, out);
        actions(record, out);
        dlu_content(record, out);
        monitoring(record, out);
    }
}

/// Each telemonitoring threshold bounds its measure, and a measure is bounded once.
fn monitoring(record: &CrtRecord, out: &mut Violations) {
    for (i, threshold) in record.telemonitoring.iter().enumerate() {
        let at = format!("/telemonitoring/{i}");
        match (threshold.low, threshold.high) {
            (None, None) => out.push(
                at.clone(),
                "threshold-bounded",
                "expected low, high or both: a threshold without bounds raises nothing",
            ),
            (Some(low), Some(high)) if low > high => out.push(
                format!("{at}/low"),
                "threshold-order",
                format!("expected low ≤ high, got {low} > {high}"),
            ),
            _ => {}
        }
        let earlier = record.telemonitoring[..i]
            .iter()
            .any(|t| t.code.system == threshold.code.system && t.code.code == threshold.code.code);
        if earlier {
            out.push(
                format!("{at}/code"),
                "threshold-unique",
                format!(
                    "{} is already bounded by an earlier threshold",
                    threshold.code.code
                ),
            );
        }
    }
}

/// What a DLU needs to be written as the CI-SIS volet defines it: each product named or
/// coded, each embedded document readable in the format it claims.
fn dlu_content(record: &CrtRecord, out: &mut Violations) {
    use base64::Engine as _;

    let Some(dlu) = &record.dlu else {
        return;
    };
    // Sections the DLU model requires with at least one entry (CI-SIS DLU-EHPAD-DLU 2022.01
    // and the generic profiles): only the record can say what goes in them.
    if dlu.patient_state.is_empty() {
        out.push(
            "/dlu/patient_state",
            "dlu-required-content",
            "a DLU states the person's condition: at least one observation of the DLU list (section Evènements observés, one FR-Simple-Observation or more)",
        );
    }
    if dlu.attached_documents.is_empty() {
        out.push(
            "/dlu/attached_documents",
            "dlu-required-content",
            "a DLU lists the documents that go with it: at least one (section Documents ajoutés, one FR-Document-attache or more)",
        );
    }
    let products = dlu
        .treatments
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let coded = t.cis_code.is_some() || t.atc_code.is_some();
            (
                format!("/dlu/treatments/{i}/medication"),
                &t.medication,
                coded,
            )
        })
        .chain(dlu.vaccinations.iter().enumerate().map(|(i, v)| {
            let coded = v.cis_code.is_some() || v.atc_code.is_some();
            (format!("/dlu/vaccinations/{i}/vaccine"), &v.vaccine, coded)
        }));
    for (pointer, label, coded) in products {
        if !coded && label.trim().is_empty() {
            out.push(
                pointer,
                "product-identified",
                "a product needs a CIS code, an ATC code or a name: this one has none",
            );
        }
    }
    for (i, attached) in dlu.attached_documents.iter().enumerate() {
        let Some(content) = &attached.content else {
            continue;
        };
        let pointer = format!("/dlu/attached_documents/{i}/content/data");
        match base64::engine::general_purpose::STANDARD.decode(&content.data) {
            Err(_) => out.push(
                pointer,
                "embedded-document",
                "expected base64 (RFC 4648, standard alphabet, padded)",
            ),
            Ok(bytes) if !bytes.starts_with(b"%PDF-") => out.push(
                pointer,
                "embedded-document",
                format!(
                    "media_type is {} but the bytes do not start with %PDF-",
                    content.media_type.as_str()
                ),
            ),
            Ok(_) => {}
        }
    }
}

fn identifiers(record: &CrtRecord, out: &mut Violations) {
    for (pointer, value) in [
        ("/crt/finess_ej", Some(&record.crt.finess_ej)),
        ("/crt/finess_et", Some(&record.crt.finess_et)),
        (
            "/dlu/preferred_facility/finess",
            record
                .dlu
                .as_ref()
                .and_then(|d| d.preferred_facility.as_ref())
                .and_then(|f| f.finess.as_ref()),
        ),
    ] {
        if let Some(Err(e)) = value.map(|v| check_finess(v)) {
            out.push(pointer, "finess-key", format!("invalid FINESS: {e}"));
        }
    }
    for (i, professional) in record.care_circle.iter().enumerate() {
        if let Some(Err(e)) = professional.rpps.as_deref().map(check_rpps) {
            out.push(
                format!("/care_circle/{i}/rpps"),
                "rpps-key",
                format!("invalid RPPS number: {e}"),
            );
        }
    }
}

fn identity(record: &CrtRecord, out: &mut Violations) {
    let beneficiary = &record.beneficiary;
    let traits = &beneficiary.identity;
    if let Some(first) = traits.birth_given_names.first()
        && !first
            .trim()
            .eq_ignore_ascii_case(traits.first_given_name.trim())
    {
        out.push(
            "/beneficiary/identity/first_given_name",
            "first-given-name",
            format!(
                "must be the first of birth_given_names (birth_given_names/0 is {} character(s) long and differs)",
                first.chars().count()
            ),
        );
    }
    if let Err(message) = check_birth_date(&traits.birth_date) {
        out.push("/beneficiary/identity/birth_date", "birth-date", message);
    }
    let status = beneficiary.identity_status;
    if matches!(
        status,
        IdentityStatus::Recovered | IdentityStatus::Qualified
    ) && beneficiary.ins.is_none()
    {
        out.push(
            "/beneficiary/ins",
            "status-requires-ins",
            format!(
                "identity status {} requires the INS returned by the INSi teleservice",
                status.code()
            ),
        );
    }
    if matches!(
        status,
        IdentityStatus::Validated | IdentityStatus::Qualified
    ) && beneficiary.identity_evidence.is_none()
    {
        out.push(
            "/beneficiary/identity_evidence",
            "status-requires-evidence",
            format!(
                "identity status {} requires the identity document that was checked",
                status.code()
            ),
        );
    }
}

/// Checks an INS birth date: `00` stands for an unknown day or month, and a known date
/// may not be in the future.
fn check_birth_date(value: &str) -> Result<(), String> {
    let part = |range: std::ops::Range<usize>| value.get(range).and_then(|s| s.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (part(0..4), part(5..7), part(8..10)) else {
        return Err("expected YYYY-MM-DD".into());
    };
    let today = Utc::now().date_naive();
    if !(1850..=today.year() as u32).contains(&year) {
        return Err(format!("year {year} is outside 1850..={}", today.year()));
    }
    if month > 12 {
        return Err(format!(
            "month {month:02} is not 01..12 (or 00 when unknown)"
        ));
    }
    if month == 0 && day != 0 {
        return Err("an unknown month (00) requires an unknown day (00)".into());
    }
    if day > 31 {
        return Err(format!("day {day:02} is not 01..31 (or 00 when unknown)"));
    }
    if month != 0 && day != 0 {
        // Civil-status records abroad hold impossible dates (30 February) that the INS
        // keeps as they are: only the range of each part is checked for those.
        if let Some(date) = NaiveDate::from_ymd_opt(year as i32, month, day)
            && date > today
        {
            return Err("the birth date is in the future".into());
        }
    }
    Ok(())
}

/// Local ids must be unique within their list, or references would be ambiguous.
fn unique_ids(record: &CrtRecord, out: &mut Violations) {
    fn check<'a>(out: &mut Violations, list: &str, ids: impl Iterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for (i, id) in ids.enumerate() {
            if !seen.insert(id) {
                out.push(
                    format!("{list}/{i}/id"),
                    "unique-id",
                    format!("id {id:?} is already used by an earlier item of this list"),
                );
            }
        }
    }
    check(
        out,
        "/care_circle",
        record.care_circle.iter().map(|p| p.id.as_str()),
    );
    check(
        out,
        "/liaison_book",
        record.liaison_book.iter().map(|e| e.id.as_str()),
    );
    check(
        out,
        "/beneficiary/contacts",
        record.beneficiary.contacts.iter().map(|c| c.id.as_str()),
    );
    check(
        out,
        "/interventions",
        record.interventions.iter().map(|x| x.id.as_str()),
    );
    check(
        out,
        "/on_call_calls",
        record.on_call_calls.iter().map(|x| x.id.as_str()),
    );
    if let Some(plan) = &record.plan {
        check(
            out,
            "/plan/problems",
            plan.problems.iter().map(|x| x.id.as_str()),
        );
        check(out, "/plan/goals", plan.goals.iter().map(|x| x.id.as_str()));
        check(
            out,
            "/plan/actions",
            plan.actions.iter().map(|x| x.id.as_str()),
        );
    }
}

/// Every reference to a care-circle member, problem or goal must resolve.
fn references(record: &CrtRecord, out: &mut Violations) {
    let professionals: HashSet<&str> = record.care_circle.iter().map(|p| p.id.as_str()).collect();
    let mut professional = |pointer: String, id: &str| {
        if !professionals.contains(id) {
            out.push(
                pointer,
                "reference",
                format!("no care_circle member has id {id:?}"),
            );
        }
    };
    let b = &record.beneficiary;
    if let Some(id) = b
        .identity_evidence
        .as_ref()
        .and_then(|e| e.checked_by.as_deref())
    {
        professional("/beneficiary/identity_evidence/checked_by".into(), id);
    }
    if let Some(v) = &record.volet2 {
        if let Some(id) = v.referral.referrer.as_deref() {
            professional("/volet2/referral/referrer".into(), id);
        }
        for (field, step) in [
            ("home_visit", &v.home_visit),
            ("medical_evaluation", &v.medical_evaluation),
        ] {
            for (i, id) in step.iter().flat_map(|s| s.professionals.iter()).enumerate() {
                professional(format!("/volet2/{field}/professionals/{i}"), id);
            }
        }
    }
    if let Some(plan) = &record.plan {
        professional("/plan/author".into(), &plan.author);
        for (i, action) in plan.actions.iter().enumerate() {
            professional(
                format!("/plan/actions/{i}/responsible"),
                &action.responsible,
            );
        }
    }
    if let Some(dlu) = &record.dlu {
        professional("/dlu/author".into(), &dlu.author);
    }
    for (i, x) in record.interventions.iter().enumerate() {
        professional(format!("/interventions/{i}/professional"), &x.professional);
    }
    for (i, entry) in record.liaison_book.iter().enumerate() {
        professional(format!("/liaison_book/{i}/author"), &entry.author);
    }
    for (i, call) in record.on_call_calls.iter().enumerate() {
        if let Some(id) = call.answered_by.as_deref() {
            professional(format!("/on_call_calls/{i}/answered_by"), id);
        }
    }
    let consents = &record.consents;
    for (field, choice) in [
        ("dmp_feeding", &consents.dmp_feeding),
        ("regional_platform", &consents.regional_platform),
        ("mssante_to_patient", &consents.mssante_to_patient),
        ("viatrajectoire", &consents.viatrajectoire),
    ] {
        if let Some(choice) = choice {
            professional(
                format!("/consents/{field}/recorded_by"),
                &choice.recorded_by,
            );
        }
    }

    if let Some(plan) = &record.plan {
        let problems: HashSet<&str> = plan.problems.iter().map(|p| p.id.as_str()).collect();
        let goals: HashSet<&str> = plan.goals.iter().map(|g| g.id.as_str()).collect();
        for (i, goal) in plan.goals.iter().enumerate() {
            for (j, id) in goal.problems.iter().enumerate() {
                if !problems.contains(id.as_str()) {
                    out.push(
                        format!("/plan/goals/{i}/problems/{j}"),
                        "reference",
                        format!("no plan problem has id {id:?}"),
                    );
                }
            }
        }
        for (i, action) in plan.actions.iter().enumerate() {
            for (j, id) in action.goals.iter().enumerate() {
                if !goals.contains(id.as_str()) {
                    out.push(
                        format!("/plan/actions/{i}/goals/{j}"),
                        "reference",
                        format!("no plan goal has id {id:?}"),
                    );
                }
            }
        }
    }
}

/// At most one trusted person and one general practitioner.
fn single_roles(record: &CrtRecord, out: &mut Violations) {
    let trusted: Vec<usize> = record
        .beneficiary
        .contacts
        .iter()
        .enumerate()
        .filter(|(_, c)| c.has_role(ContactRole::TrustedPerson))
        .map(|(i, _)| i)
        .collect();
    for i in trusted.iter().skip(1) {
        out.push(
            format!("/beneficiary/contacts/{i}/roles"),
            "single-trusted-person",
            format!(
                "only one trusted person may be designated; contact {} already is",
                trusted[0]
            ),
        );
    }
    let gps: Vec<usize> = record
        .care_circle
        .iter()
        .enumerate()
        .filter(|(_, p)| p.role == CareRole::GeneralPractitioner)
        .map(|(i, _)| i)
        .collect();
    for i in gps.iter().skip(1) {
        out.push(
            format!("/care_circle/{i}/role"),
            "single-general-practitioner",
            format!(
                "only one general practitioner per beneficiary; care_circle/{} already is",
                gps[0]
            ),
        );
    }
}

/// Volet 2 steps happen in order: referral, visit and evaluation, decision, start, exit.
fn volet2_dates(record: &CrtRecord, out: &mut Violations) {
    let Some(v) = &record.volet2 else { return };
    let referral = v.referral.received_on;
    let mut not_before = |pointer: &str, date: NaiveDate, bound: NaiveDate, bound_name: &str| {
        if date < bound {
            out.push(
                pointer,
                "date-order",
                format!("{date} is before {bound_name} ({bound})"),
            );
        }
    };
    if let Some(step) = &v.home_visit {
        not_before(
            "/volet2/home_visit/date",
            step.date,
            referral,
            "the referral",
        );
    }
    if let Some(step) = &v.medical_evaluation {
        not_before(
            "/volet2/medical_evaluation/date",
            step.date,
            referral,
            "the referral",
        );
    }
    if let Some(decision) = &v.decision {
        not_before(
            "/volet2/decision/decided_on",
            decision.decided_on,
            referral,
            "the referral",
        );
    }
    if let (Some(start), Some(decision)) = (v.start_on, &v.decision) {
        not_before(
            "/volet2/start_on",
            start,
            decision.decided_on,
            "the decision",
        );
    }
    if let (Some(exit), Some(start)) = (&v.exit, v.start_on) {
        not_before(
            "/volet2/exit/date",
            exit.date,
            start,
            "the start of the accompaniment",
        );
    }
    if let Some(decision) = &v.decision {
        match decision.outcome {
            DecisionOutcome::Refused if decision.reason.is_none() => out.push(
                "/volet2/decision/reason",
                "refusal-reason",
                "a refused admission states its reason",
            ),
            DecisionOutcome::Refused if v.start_on.is_some() => out.push(
                "/volet2/start_on",
                "refused-not-started",
                "a refused admission has no start date",
            ),
            _ => {}
        }
    }
    if v.start_on.is_some() && v.decision.is_none() {
        out.push(
            "/volet2/decision",
            "start-requires-admission",
            "an accompaniment that started needs the admission decision",
        );
    }
    if v.exit.is_some() && v.start_on.is_none() {
        out.push(
            "/volet2/start_on",
            "exit-requires-start",
            "an exit needs the start date of the accompaniment",
        );
    }
}

fn other_dates(record: &CrtRecord, out: &mut Violations) {
    if let Some(plan) = &record.plan {
        if let Some(review) = plan.review_on
            && review < plan.drawn_up_on
        {
            out.push(
                "/plan/review_on",
                "date-order",
                "the review is before the plan was drawn up",
            );
        }
        for (i, action) in plan.actions.iter().enumerate() {
            if let Some(end) = action.end_on
                && end < action.start_on
            {
                out.push(
                    format!("/plan/actions/{i}/end_on"),
                    "date-order",
                    "ends before it starts",
                );
            }
        }
    }
    for (i, x) in record.interventions.iter().enumerate() {
        if let (Some(start), Some(end)) = (x.started_at, x.ended_at)
            && end < start
        {
            out.push(
                format!("/interventions/{i}/ended_at"),
                "date-order",
                "ends before it starts",
            );
        }
    }
    for (i, call) in record.on_call_calls.iter().enumerate() {
        if let Some(closed) = call.closed_at
            && closed < call.received_at
        {
            out.push(
                format!("/on_call_calls/{i}/closed_at"),
                "date-order",
                "closed before it was received",
            );
        }
    }
}

/// Each action needs the part of the record it works from, and is asked for once.
fn actions(record: &CrtRecord, out: &mut Violations) {
    let mut seen = HashSet::new();
    for (i, action) in record.actions.iter().enumerate() {
        let key = match action {
            Action::SendDocument { document, .. } => format!("send_document:{}", document.as_str()),
            Action::AnswerAdmission { request, .. } => format!("answer_admission:{request}"),
            Action::RequestPrescription { request, .. } => {
                format!("request_prescription:{request}")
            }
            other => other.name().to_string(),
        };
        if !seen.insert(key) {
            out.push(
                format!("/actions/{i}"),
                "unique-action",
                "the same action is already requested earlier in the list",
            );
        }
        let needs = match action {
            Action::SendDocument {
                document: DocumentKind::Dlu,
                ..
            } => record
                .dlu
                .is_none()
                .then_some(("/dlu", "a DLU needs the dlu part of the record")),
            Action::SendDocument {
                document: DocumentKind::Plan,
                ..
            } => record
                .plan
                .is_none()
                .then_some(("/plan", "a plan document needs the plan part of the record")),
            Action::AnswerAdmission { .. }
            | Action::ShareWithRegion
            | Action::RequestPrescription { .. } => None,
        };
        if let Some((pointer, message)) = needs {
            out.push(
                pointer,
                "action-needs-content",
                format!("{message} (actions/{i})"),
            );
        }
        if let Action::SendDocument { document, .. } = action {
            documents(record, *document, i, out);
        }
        if let Action::AnswerAdmission {
            decision,
            rank,
            date,
            reason,
            ..
        } = action
        {
            admission_answer(*decision, *rank, *date, reason.as_deref(), i, out);
        }
        if let Action::RequestPrescription {
            to, requested_by, ..
        } = action
        {
            prescription_request(record, to, requested_by.as_deref(), i, out);
        }
    }
}

/// A prescription is asked of a physician of the care circle, by a member of it.
fn prescription_request(
    record: &CrtRecord,
    to: &str,
    requested_by: Option<&str>,
    action: usize,
    out: &mut Violations,
) {
    match record.professional(to) {
        None => out.push(
            format!("/actions/{action}/to"),
            "reference",
            format!("no care_circle member has id {to:?}"),
        ),
        Some(member) if member.profession != crate::record::Profession::Physician => out.push(
            format!("/actions/{action}/to"),
            "prescriber",
            format!("a prescription is asked of a physician; care_circle member {to:?} is not one"),
        ),
        Some(_) => {}
    }
    if let Some(id) = requested_by
        && record.professional(id).is_none()
    {
        out.push(
            format!("/actions/{action}/requested_by"),
            "reference",
            format!("no care_circle member has id {id:?}"),
        );
    }
}

/// What each answer to an admission request carries: a rank on the waiting list, a date
/// for an admission, a reason (JDV_J251) for a refusal or a cancellation, and nothing the
/// decision does not use.
fn admission_answer(
    decision: AdmissionAnswer,
    rank: Option<u32>,
    date: Option<crate::record::Date>,
    reason: Option<&str>,
    action: usize,
    out: &mut Violations,
) {
    use AdmissionAnswer::*;
    let at = |field: &str| format!("/actions/{action}/{field}");
    let name = decision.as_str();
    let wants_rank = decision == WaitingList;
    let wants_date = matches!(decision, Accepted | Admitted);
    let wants_reason = matches!(decision, Refused | Cancelled);
    for (field, given, wanted, what) in [
        (
            "rank",
            rank.is_some(),
            wants_rank,
            "the place on the waiting list",
        ),
        ("date", date.is_some(), wants_date, "the admission date"),
        (
            "reason",
            reason.is_some(),
            wants_reason,
            "a reason code of JDV_J251",
        ),
    ] {
        if wanted && !given {
            out.push(
                at(field),
                "admission-answer",
                format!("a {name} answer gives {what}"),
            );
        } else if given && !wanted {
            out.push(
                at(field),
                "admission-answer",
                format!("a {name} answer takes no {field}"),
            );
        }
    }
    if let Some(code) = reason
        && !crate::terminology::admission_reasons()
            .iter()
            .any(|(known, _)| known == code)
    {
        out.push(
            at("reason"),
            "admission-reason",
            format!(
                "{code} is not a code of JDV_J251 (MotifStatutPersonnePriseChargeESMS); expected one of {}",
                crate::terminology::admission_reasons()
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// A document names its author by RPPS, and a DLU names the general practitioner.
fn documents(record: &CrtRecord, document: DocumentKind, action: usize, out: &mut Violations) {
    let (author, pointer) = match document {
        DocumentKind::Dlu => (
            record.dlu.as_ref().map(|d| d.author.as_str()),
            "/dlu/author",
        ),
        DocumentKind::Plan => (
            record.plan.as_ref().map(|p| p.author.as_str()),
            "/plan/author",
        ),
    };
    if let Some(professional) = author.and_then(|id| record.professional(id))
        && professional.rpps.is_none()
    {
        out.push(
            pointer,
            "author-rpps",
            format!("the author of a document sent (actions/{action}) must have an RPPS number"),
        );
    }
    if document == DocumentKind::Dlu && record.general_practitioner().is_none() {
        out.push(
            "/care_circle",
            "dlu-general-practitioner",
            format!("a DLU (actions/{action}) names the general practitioner: add a care_circle member with role general_practitioner"),
        );
    }
}
