//! Consulting a beneficiary's DMP for a professional of their care team: ITI-18
//! FindDocuments and ITI-43 retrieve, with a VIHF that names **that** professional, their
//! profession and role, the access mode (normal, *bris de glace*, regulation centre) and
//! how they were authenticated. What the DMP answers on access rights is returned as it
//! is; masked documents simply do not come back.

use crt_core::CrtRecord;
use crt_core::record::{IdentityStatus, Ins, Professional};

use crate::answer::Found;
use crate::client::{Acting, DmpError};
use crate::sink::DmpSink;
use crate::vihf::{AccessMode, AuthenticationMode, Subject};

/// Who consults whose DMP, and how.
pub struct Consultation<'a> {
    pub record: &'a CrtRecord,
    pub professional: &'a Professional,
    pub mode: AccessMode,
    /// The professional authenticated strongly (a CPS card or e-CPS through Pro Santé
    /// Connect): the DMP opens documents only then.
    pub reinforced: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsultError {
    #[error("the beneficiary has no qualified INS: the DMP is reached by a qualified INS only")]
    NotQualified,
    #[error(transparent)]
    Dmp(#[from] DmpError),
}

impl Consultation<'_> {
    fn ins(&self) -> Result<&Ins, ConsultError> {
        let beneficiary = &self.record.beneficiary;
        match (&beneficiary.ins, beneficiary.identity_status) {
            (Some(ins), IdentityStatus::Qualified) => Ok(ins),
            _ => Err(ConsultError::NotQualified),
        }
    }

    fn acting<'b>(&'b self, ins: &'b Ins, sector: &'b str) -> Acting<'b> {
        Acting {
            subject: Subject::User {
                professional: self.professional,
                authentication: None,
            },
            sector,
            ins,
            mode: self.mode,
            authentication: if self.reinforced {
                AuthenticationMode::IndirectReinforced
            } else {
                AuthenticationMode::Indirect
            },
        }
    }

    /// The structure's activity sector (TRE_R02), as its documents state it.
    fn sector(&self) -> String {
        let facility = crt_documents::cda::facility_type(self.record.crt.porteur);
        format!("{}^{}", facility.code, facility.system)
    }
}

impl DmpSink {
    /// The beneficiary's approved documents the DMP shows this professional.
    pub async fn search(
        &self,
        consultation: &Consultation<'_>,
    ) -> Result<Vec<Found>, ConsultError> {
        let ins = consultation.ins()?;
        let sector = consultation.sector();
        let identity = self
            .client()
            .identity(&consultation.record.crt.id_nat_struct())?;
        Ok(self
            .client()
            .find(&identity, &consultation.acting(ins, &sector))
            .await?)
    }

    /// One document the DMP lists for this professional: its media type and bytes;
    /// `None` when it is not among them (unknown, or masked from them). The search finds
    /// the repository that holds it.
    pub async fn read(
        &self,
        consultation: &Consultation<'_>,
        unique_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, ConsultError> {
        let Some(found) = self
            .search(consultation)
            .await?
            .into_iter()
            .find(|f| f.unique_id == unique_id)
        else {
            return Ok(None);
        };
        let repository = found.repository.as_str();
        let ins = consultation.ins()?;
        let sector = consultation.sector();
        let identity = self
            .client()
            .identity(&consultation.record.crt.id_nat_struct())?;
        let mut documents = self
            .client()
            .retrieve(
                &identity,
                &consultation.acting(ins, &sector),
                repository,
                &[unique_id],
            )
            .await?;
        Ok((!documents.is_empty()).then(|| {
            let (_, media_type, content) = documents.remove(0);
            (media_type, content)
        }))
    }
}
