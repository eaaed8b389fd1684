//! Identifier newtypes, so that an organisation id is never passed where a user id is wanted.

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    SubmissionId,
    UserId,
    OrgId,
    RegionId,
    CategoryId,
    SubcategoryId,
    FileId,
    EventId,
    MunicipalityId,
    RouteId,
    IncidentId,
    NotificationId,
    CampaignId,
    DocumentId,
    CertificateId,
    PollId,
    DiscussionId,
    CommentId,
);

/// The registration number a citizen sees: `YYYY-NNNNNNN`, the year of registration (UTC)
/// and the submission id. Derived, never stored, so it cannot disagree with the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationNumber {
    pub year: i32,
    pub id: SubmissionId,
}

impl RegistrationNumber {
    pub fn new(id: SubmissionId, registered_at: time::OffsetDateTime) -> Self {
        Self {
            year: registered_at.to_offset(time::UtcOffset::UTC).year(),
            id,
        }
    }
}

impl std::fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{:07}", self.year, self.id.0)
    }
}
